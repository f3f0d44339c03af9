"""Sentences: tokenizer, data, model, decoding, the `TextAE` facade and its bundle. Never imports textae.series."""
