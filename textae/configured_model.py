"""The base of textae's Keras models: settings in one dataclass, saved as its dict and loaded back."""

from __future__ import annotations

import dataclasses

import keras


class ConfiguredModel(keras.Model):
    """A Keras model whose settings are one dataclass, `self.model_config`: saved as its dict, loaded back.

    Subclasses build every weight in `build()` (loading calls it) and keep their metrics in `self.trackers`.
    """

    def get_build_config(self):
        return {"built": True}

    def build_from_config(self, config):
        self.build()

    @property
    def metrics(self):
        return list(self.trackers.values())

    def get_config(self):
        base = super().get_config()
        base.update({"config": dataclasses.asdict(self.model_config)})
        return base

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        model_config = config.pop("config")
        # A loaded model computes in the current dtype policy (float32 unless set), not in the training run's.
        config.pop("dtype", None)
        return cls(model_config, **config)
