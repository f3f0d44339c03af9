"""textae: a recurrent text autoencoder on Keras 3."""
