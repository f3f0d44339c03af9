"""Scripts that build the corpus, train, evaluate and benchmark textae models."""
