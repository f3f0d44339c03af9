"""training.study: every probe is a valid training command, and the table reads the results."""

import pytest

from textae.text.config import preset
from textae.training import study, train


@pytest.mark.parametrize("name", list(study.PROBES))
def test_every_probe_is_a_valid_training_command(name):
    args = train.build_parser().parse_args(["--preset", "default", *study.BASELINE_FLAGS, *study.PROBES[name]])
    config = train.resolve_config(args)
    config.model.validate()


def test_the_baseline_is_the_default_preset_before_the_study():
    args = train.build_parser().parse_args(["--preset", "default", *study.BASELINE_FLAGS])
    config = train.resolve_config(args)
    assert (config.model.latent_dim, config.model.sampling_schedule, config.model.sampling_k) == (
        256,
        "inverse_sigmoid",
        2000.0,
    )
    assert config.train.mixed_precision == "off"


def test_the_recipe_probe_is_the_default_preset():
    args = train.build_parser().parse_args(["--preset", "default", *study.BASELINE_FLAGS, *study.PROBES["recipe"]])
    recipe, default = train.resolve_config(args), preset("default")
    assert recipe.model == default.model
    assert recipe.train.mixed_precision == "bfloat16" and default.train.mixed_precision == "auto"


def test_table_lists_failed_and_measured_probes():
    measured = {
        "probe": "baseline", "flags": "", "minutes": 8, "returncode": 0, "epochs": 2, "steps": 1772,
        "tokens_per_sentence": 13.7, "loss": 1.7, "exact_match": 0.2, "bleu": 21.5,
        "by_words": {"1-5": 0.4, "6-10": 0.1, "11-15": 0.0, "16-20": None},
        "bleu_by_words": {"11-15": 13.1, "16-20": None},
    }  # fmt: skip
    lines = study.table([measured, {"probe": "broken", "flags": "--x", "minutes": 8, "returncode": 2}])
    assert lines[2].startswith("| baseline | `(default)` | 2 | 1,772 | 13.7 | 1.700 | 0.200 | 21.5 | 0.400 |")
    assert "| – |" in lines[2]  # an empty bucket and a figure not measured
    assert lines[3] == "| broken | `--x` | failed (exit 2) |"
