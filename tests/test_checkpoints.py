"""Training state survives a torn file: durable saves, and a resume that falls back to the state before."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from textae import files
from textae.text.config import ModelConfig
from textae.text.model import TextAutoencoder
from textae.text.pipeline import training_stream
from textae.training import callbacks, checkpoints, resume


class Killed(Exception):
    """Stands in for SIGKILL: the run stops with no `on_train_end` (the backup stays)."""


class KillAfterEpoch(keras.callbacks.Callback):
    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):  # after the previous epoch's state was saved
        if epoch == self.epoch:
            raise Killed


def _model(vocab_size: int) -> TextAutoencoder:
    # Teacher forcing and no dropout: nothing random in a step, so equal batches give equal weights.
    config = ModelConfig(vocab_size=vocab_size, embedding_dim=8, hidden_dim=8, latent_dim=4, bidirectional=False,
                         sampling_schedule="constant", sampling_k=1.0)  # fmt: skip
    model = TextAutoencoder(config)
    model.build()  # as training.trainer.build_model does: a custom train_step never marks the model built
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    return model


@pytest.fixture
def dataset(tiny_tokenizer, tiny_sentences):
    """64 sentences: 4 batches of 16 per pass of `pipeline.training_stream`."""
    return tiny_tokenizer.encode(tiny_sentences[:64])


def _fit(model, ids, backup, epochs, *extra, every_steps=0):
    """`resume.resumable_fit` over the training stream of `ids`, in epochs of 2 batches."""

    def stream(epoch, step):
        first, skip = divmod(2 * epoch + step, 4)
        return training_stream(ids, 16, seed=0, first_pass=first, skip_batches=skip, bucket_boundaries=None)

    return resume.resumable_fit(model, stream, 2, None, list(extra), epochs=epochs, backup_dir=backup,
                                guard=callbacks.NaNGuard(), every_steps=every_steps, verbose=0)  # fmt: skip


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

    history, resumed = _fit(_model(tiny_tokenizer.vocab_size), dataset, backup, 4, Check())
    out = capsys.readouterr().out
    assert resumed == (1, 0) and len(history["loss"]) == 3  # epochs 2 to 4 are trained
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


class KillAtStep(keras.callbacks.Callback):
    def __init__(self, epoch: int, step: int):
        super().__init__()
        self.epoch, self.step, self.current = epoch, step, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.current, batch + 1) == (self.epoch, self.step):
            raise Killed


def test_a_run_killed_mid_epoch_resumes_at_that_step_and_ends_as_an_uninterrupted_one(
    tmp_path, tiny_tokenizer, dataset, capsys
):
    """Epochs of 2 batches, a state every batch: killed after epoch 2's first batch, resumed there."""
    keras.utils.set_random_seed(0)
    straight = _model(tiny_tokenizer.vocab_size)
    _fit(straight, dataset, tmp_path / "straight", 4)
    keras.utils.set_random_seed(0)
    backup = tmp_path / "backup"
    with pytest.raises(Killed):
        _fit(_model(tiny_tokenizer.vocab_size), dataset, backup, 4, KillAtStep(1, 2), every_steps=1)
    assert checkpoints.saved_states(backup)[-1] == (1, 1)  # the kill came before the step-2 save
    resumed_model = _model(tiny_tokenizer.vocab_size)
    history, resumed = _fit(resumed_model, dataset, backup, 4, every_steps=1)
    assert resumed == (1, 1) and "Resuming at epoch 2, step 1 of 2." in capsys.readouterr().out
    assert len(history["loss"]) == 3  # epochs 2 (its last batch), 3 and 4
    assert int(resumed_model.optimizer.iterations) == int(straight.optimizer.iterations) == 8
    for got, want in zip(resumed_model.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)  # the same batches, in the same order
    assert not backup.exists()  # a finished run removes its state


def test_a_resume_that_counts_steps_differently_is_refused(tmp_path, tiny_tokenizer, dataset):
    model = _model(tiny_tokenizer.vocab_size)
    checkpoints.save(model, tmp_path / "backup", 1, step=1, layout={"steps_per_epoch": 3})
    with pytest.raises(ValueError, match="counts steps differently \\(steps_per_epoch 3 then, 2 now\\)"):
        _fit(model, dataset, tmp_path / "backup", 4)
