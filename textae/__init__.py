"""textae: a recurrent text autoencoder on Keras 3.

```python
import textae

autoencoder = textae.load()  # the shipped model in assets/model
autoencoder.reconstruct(["The cat sat on the mat."])[0].output
```

Names are imported lazily, so `import textae` does not load TensorFlow; the first
name that needs it starts TensorFlow with its C++ start-up log lines hidden
(`textae.quiet`; set TEXTAE_VERBOSE=1 to see them).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "load": "textae.loading",
    "SeriesAE": "textae.series.autoencoder",
    "TextAE": "textae.text.autoencoder",
    "InputError": "textae.errors",
    "Config": "textae.text.config",
    "ModelConfig": "textae.text.config",
    "TextAutoencoder": "textae.text.model",
    "Tokenizer": "textae.text.tokenizer",
    "BundleError": "textae.bundle",
}
_NEED_TENSORFLOW = {
    "textae.loading",
    "textae.text.autoencoder",
    "textae.text.model",
    "textae.series.autoencoder",
}  # the others are light: no TensorFlow start-up
__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        if _EXPORTS[name] in _NEED_TENSORFLOW:
            from textae import quiet

            quiet.start_tensorflow(argv=[])  # the host program's arguments are not ours to read
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'textae' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
