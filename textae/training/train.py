"""python -m training.train: train a textae model.

With no arguments it trains the default preset on the shipped corpus into
`runs/default-<hash of the configuration>`; running the same command again
resumes that run. Settings come from a preset, then a config file (JSON, YAML
or TOML, with sections tokenizer/data/model/train), then the flags.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import shlex
import shutil
import sys
import tomllib
from pathlib import Path

from textae import quiet  # noqa: E402
from textae.training import program_name  # noqa: E402

quiet.start_tensorflow()  # before anything imports TensorFlow: its C++ start-up lines stay hidden

from textae.config import TrainConfig  # noqa: E402
from textae.series.config import (  # noqa: E402
    SERIES_PRESETS,
    SeriesConfig,
    SeriesDataConfig,
    SeriesModelConfig,
    series_preset,
)
from textae.text.config import PRESETS, Config, DataConfig, ModelConfig, TokenizerConfig, preset  # noqa: E402

SECTIONS = {"tokenizer": TokenizerConfig, "data": DataConfig, "model": ModelConfig, "train": TrainConfig}
SERIES_SECTIONS = {"data": SeriesDataConfig, "model": SeriesModelConfig, "train": TrainConfig}
SET_FROM_DATA = {("model", "vocab_size"), ("model", "channels"), ("model", "window")}  # not flags of their own
TASKS = {  # task -> (sections, presets, default preset, default config)
    "text": (SECTIONS, PRESETS, "default", Config),
    "timeseries": (SERIES_SECTIONS, SERIES_PRESETS, "timeseries", SeriesConfig),
}


def task_of(argv: list[str] | None) -> str:
    """The --task among the arguments ("text" when absent); the flags that follow depend on it."""
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("--task", default="text")
    task = peek.parse_known_args(argv)[0].task
    return task if task in TASKS else "text"  # an unknown task is reported by the full parser


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


class _Defaults(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, unless its help already says it."""

    def _get_help_string(self, action):
        if "(default:" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


DESCRIPTIONS = {
    "text": __doc__.split("\n\n")[1],
    "timeseries": "Train a time-series autoencoder (--task timeseries) on --source, with the `timeseries` preset "
    "by default; running the same command again resumes the run. Settings come from a preset, then a config file, "
    "then the flags.",
}


def build_parser(task: str = "text") -> argparse.ArgumentParser:
    sections, presets, default_preset, _ = TASKS[task]
    parser = argparse.ArgumentParser(
        prog=program_name("train"), description=DESCRIPTIONS[task], formatter_class=_Defaults
    )
    parser.add_argument("--verbose", action="store_true", help=quiet.VERBOSE_HELP)
    parser.add_argument(
        "--task", default="text", choices=list(TASKS), help="text, or timeseries (numeric series; its own flags)"
    )
    parser.add_argument("--preset", default=default_preset, choices=list(presets), help="starting configuration")
    parser.add_argument("--config", help="JSON, YAML or TOML file of settings; flags override it")
    parser.add_argument("--output", help="run folder (default: runs/<preset>-<config hash>)")
    parser.add_argument("--overwrite", action="store_true", help="start afresh even if the run folder has a model")
    defaults = preset(default_preset) if task == "text" else series_preset(default_preset)  # what a bare run gets
    for section, section_type in sections.items():
        group = parser.add_argument_group(f"{section} settings")
        for field in dataclasses.fields(section_type):
            if (section, field.name) in SET_FROM_DATA:
                continue  # one --vocab-size sets both; channels and window come from the data
            default = getattr(getattr(defaults, section), field.name)
            kwargs = {"dest": f"{section}.{field.name}", "default": argparse.SUPPRESS}
            help_text = field.metadata["help"].replace("%", "%%")
            if "(default:" not in help_text:
                help_text += f" (default: {default})"
            if isinstance(default, bool):
                group.add_argument(_flag(field.name), action=argparse.BooleanOptionalAction, help=help_text, **kwargs)
            elif field.name in ("data_files", "columns"):
                group.add_argument(_flag(field.name), nargs="+", help=help_text, **kwargs)
            else:
                kind = {int: int, float: float}.get(type(default), str)
                if field.name in ("limit", "steps_per_epoch"):
                    kind = int
                elif field.name == "max_minutes":
                    kind = float
                group.add_argument(_flag(field.name), type=kind, help=help_text, **kwargs)
    return parser


def read_config_file(path: str) -> dict:
    """Nested settings from a JSON, YAML or TOML file."""
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"Config file {path} does not exist.")
    text = file.read_text(encoding="utf-8")
    try:
        if file.suffix == ".json":
            return json.loads(text)
        if file.suffix in (".yaml", ".yml"):
            import yaml

            return yaml.safe_load(text) or {}
        if file.suffix == ".toml":
            return tomllib.loads(text)
    except Exception as error:  # noqa: BLE001 - any parse error becomes one clear line
        message = " ".join(str(error).split())  # parsers' messages span lines; the CLI reports one
        raise ValueError(f"Could not parse config file {path}: {message}") from None
    raise ValueError(f"Config file {path} must end in .json, .yaml, .yml or .toml.")


def resolve_config(args: argparse.Namespace) -> Config | SeriesConfig:
    """Preset, then config file, then flags."""
    task = getattr(args, "task", "text")
    sections = TASKS[task][0]
    values = (preset(args.preset) if task == "text" else series_preset(args.preset)).to_dict()
    if args.config:
        file_values = read_config_file(args.config)
        if isinstance(file_values, dict) and "format_version" in file_values:  # a model bundle's config.json
            file_values = file_values.get("config", {})
        file_task = file_values.pop("task", "text") if isinstance(file_values, dict) else "text"
        if file_task != task:
            raise ValueError(f"{args.config} is a {file_task} configuration; pass --task {file_task}.")
        for section, settings in file_values.items():
            if section not in sections or not isinstance(settings, dict):
                raise ValueError(f"Config file section {section!r} is not one of {', '.join(sections)}.")
            values[section].update(settings)
    for key, value in vars(args).items():
        if "." in key:
            section, name = key.split(".", 1)
            values[section][name] = value
            if (section, name) == ("tokenizer", "vocab_size"):
                values["model"]["vocab_size"] = value
    if task == "timeseries":
        config = SeriesConfig.from_dict(values)
        config.model.window = config.data.window
        config.validate()
    else:
        config = Config.from_dict(values)
        config.model.validate()
    for name in ("epochs", "batch_size"):
        if getattr(config.train, name) <= 0:
            raise ValueError(f"--{name.replace('_', '-')} must be positive, got {getattr(config.train, name)}.")
    if config.train.learning_rate <= 0:
        raise ValueError(f"--learning-rate must be positive, got {config.train.learning_rate}.")
    return config


def configuration_line(args: argparse.Namespace, config, run_dir: Path) -> str:
    """One line: the preset and what differs from it (the whole configuration goes to RUN/config.json)."""
    task = getattr(args, "task", "text")
    base = (preset(args.preset) if task == "text" else series_preset(args.preset)).to_dict()
    changed = [
        f"{name}={value}"
        for section, settings in config.to_dict().items()
        if isinstance(settings, dict)
        for name, value in settings.items()
        if base.get(section, {}).get(name) != value and (section, name) not in SET_FROM_DATA
    ]
    return (
        f"configuration: preset {args.preset}"
        + (f", changed {', '.join(changed)}" if changed else "")
        + f" (all settings: {run_dir / 'config.json'})"
    )


def start_afresh(run_dir: Path) -> None:
    """--overwrite: drop the run's resumable state and tokenizer, so nothing of the old run is reused.

    The old model stays until the new run writes its first bundle (that replace is atomic).
    """
    shutil.rmtree(run_dir / "backup", ignore_errors=True)
    for name in ("tokenizer.model", "config.json"):
        (run_dir / name).unlink(missing_ok=True)


def default_run_dir(preset_name: str, config: Config) -> Path:
    digest = hashlib.sha256(config.to_json().encode("utf-8")).hexdigest()[:8]
    return Path("runs") / f"{preset_name}-{digest}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser(task_of(argv)).parse_args(argv)
    try:
        config = resolve_config(args)
        run_dir = Path(args.output) if args.output else default_run_dir(args.preset, config)
        if (run_dir / "model").exists() and not (run_dir / "backup").exists() and not args.overwrite:
            print(
                f"{run_dir} already holds a finished model; pass --overwrite to train it again, "
                "or --output to train another.",
                file=sys.stderr,
            )
            return 0
        if args.overwrite:
            start_afresh(run_dir)
        print(configuration_line(args, config, run_dir), flush=True)
        command = "python -m training.train " + shlex.join(sys.argv[1:] if argv is None else argv)
        if args.task == "timeseries":
            from textae.training.series_trainer import train_series

            result = train_series(config, run_dir, command=command.strip())
        else:
            from textae.training import trainer

            result = trainer.train(config, run_dir, command=command.strip())
    except KeyboardInterrupt:
        print("\nInterrupted. Run the same command again to resume from the last checkpoint.", file=sys.stderr)
        return 130
    except (ValueError, OSError) as error:
        print(f"train: error: {error}", file=sys.stderr)
        return 2
    if result.stopped_on_nan:
        print("Training stopped on a NaN loss; the last good model is kept.", file=sys.stderr)
        return 1
    print(f"Model written to {result.bundle_path} in {result.seconds / 60:.1f} minutes.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
