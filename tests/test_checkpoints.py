"""Training state survives a torn file: durable saves, and a resume that falls back to the state before."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from textae import files
from textae.config import ModelConfig
from textae.model import TextAutoencoder
from textae.pipeline import make_dataset
from textae.training import callbacks, checkpoints


class Killed(Exception):
    """Stands in for SIGKILL: the run stops with no `on_train_end` (the backup stays)."""


class KillAfterEpoch(keras.callbacks.Callback):
    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            raise Killed


def _model(vocab_size: int) -> TextAutoencoder:
    config = ModelConfig(vocab_size=vocab_size, embedding_dim=8, hidden_dim=8, latent_dim=4, bidirectional=False)
    model = TextAutoencoder(config)
    model.build()  # as training.trainer.build_model does: a custom train_step never marks the model built
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    return model


@pytest.fixture
def dataset(tiny_tokenizer, tiny_sentences):
    ids = tiny_tokenizer.encode(tiny_sentences[:64])
    return make_dataset(ids, batch_size=16, repeat=True, seed=0, bucket_boundaries=None)


def _fit(model, dataset, backup, epochs, *extra):
    backup_callback = callbacks.AtomicBackupAndRestore(str(backup), callbacks.NaNGuard())
    history = model.fit(dataset, epochs=epochs, steps_per_epoch=2, callbacks=[backup_callback, *extra], verbose=0)
    return backup_callback, history


def test_a_torn_newest_checkpoint_resumes_from_the_one_before(tmp_path, tiny_tokenizer, dataset, capsys):
    keras.utils.set_random_seed(0)
    backup = tmp_path / "backup"
    with pytest.raises(Killed):
        _fit(_model(tiny_tokenizer.vocab_size), dataset, backup, 4, KillAfterEpoch(2))
    assert checkpoints.saved_epochs(backup) == [1, 2]  # the previous state is kept beside the newest
    reference = _model(tiny_tokenizer.vocab_size)
    checkpoints.restore(reference, backup, epoch=1)
    newest = backup / "epoch-2.weights.h5"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])  # torn, as after a power loss

    class Check(keras.callbacks.Callback):  # the weights training resumes from are epoch 1's
        def on_train_begin(self, logs=None):
            for got, want in zip(self.model.get_weights(), reference.get_weights()):
                np.testing.assert_array_equal(got, want)

    resumed, history = _fit(_model(tiny_tokenizer.vocab_size), dataset, backup, 4, Check())
    out = capsys.readouterr().out
    assert resumed.restored_epoch == 1 and history.epoch == [1, 2, 3]  # epochs 2 to 4 are trained
    assert f"The checkpoint {newest} cannot be read" in out
    assert "Resuming from an older checkpoint: the one written after epoch 1." in out


def test_no_readable_checkpoint_is_a_clear_error(tmp_path, tiny_tokenizer):
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "epoch-1.weights.h5").write_bytes(b"not a weights file")
    model = _model(tiny_tokenizer.vocab_size)
    with pytest.raises(checkpoints.CheckpointError, match="Delete that folder to train afresh"):
        checkpoints.restore(model, backup)
    with pytest.raises(checkpoints.CheckpointError, match="epoch-1.weights.h5"):
        checkpoints.restore(model, backup, epoch=1)


def test_save_syncs_the_weights_and_the_folder_before_naming_them(tmp_path, tiny_tokenizer, monkeypatch):
    model = _model(tiny_tokenizer.vocab_size)
    events = []
    for name in ("sync_file", "sync_directory", "write_atomic"):
        original = getattr(files, name)

        def record(path, *args, _name=name, _original=original):
            events.append((_name, str(path).rsplit("/", 1)[-1]))
            return _original(path, *args)

        monkeypatch.setattr(files, name, record)
    checkpoints.save(model, tmp_path, 1)
    assert events == [
        ("sync_file", ".epoch-1.tmp.weights.h5"),  # the data, before the rename
        ("sync_directory", tmp_path.name),  # the rename
        ("write_atomic", checkpoints.POINTER),  # only then the pointer
        ("sync_directory", tmp_path.name),  # (write_atomic syncs the folder after its rename)
    ]
