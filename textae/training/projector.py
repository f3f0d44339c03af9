"""Export validation latents for TensorBoard's embedding projector.

Writes `vectors.tsv`, `metadata.tsv` (the sentences) and
`projector_config.pbtxt` into the folder; `tensorboard --logdir <run>/logs`
then shows them under "Projector".
"""

from __future__ import annotations

import os

import numpy as np

from textae.text import encoding


def export(model, token_ids, sentences: list[str], folder: str, batch_size: int = 256) -> None:
    """Encode `sentences`, given as their `token_ids` (the latent mean), and write the projector files."""
    if not sentences:
        return
    os.makedirs(folder, exist_ok=True)
    matrix = encoding.encode(model, token_ids, batch_size)
    np.savetxt(os.path.join(folder, "vectors.tsv"), matrix, delimiter="\t", fmt="%.5f")
    with open(os.path.join(folder, "metadata.tsv"), "w", encoding="utf-8") as handle:
        handle.writelines(sentence.replace("\t", " ").replace("\n", " ") + "\n" for sentence in sentences)
    with open(os.path.join(folder, "projector_config.pbtxt"), "w", encoding="utf-8") as handle:
        handle.write(
            'embeddings {\n  tensor_name: "validation_latents"\n'
            '  tensor_path: "vectors.tsv"\n  metadata_path: "metadata.tsv"\n}\n'
        )
