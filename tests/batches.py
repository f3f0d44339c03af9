"""Hand-made training batches for the tests that feed token ids to the model directly."""

import numpy as np

from textae.text.tokenizer import BOS_ID, EOS_ID, PAD_ID


def make_batch(sentences, length=None):
    """Right-padded `({"encoder_tokens", "decoder_tokens"}, targets)`: decoder `<s>`+tokens, targets tokens+`</s>`."""
    length = length or max(len(sentence) for sentence in sentences)
    encoder = np.full((len(sentences), length), PAD_ID, np.int32)
    decoder = np.full((len(sentences), length + 1), PAD_ID, np.int32)
    targets = np.full((len(sentences), length + 1), PAD_ID, np.int32)
    for row, sentence in enumerate(sentences):
        encoder[row, : len(sentence)] = sentence
        decoder[row, : len(sentence) + 1] = [BOS_ID, *sentence]
        targets[row, : len(sentence) + 1] = [*sentence, EOS_ID]
    return {"encoder_tokens": encoder, "decoder_tokens": decoder}, targets
