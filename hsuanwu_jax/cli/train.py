"""Command line: train, test and export one config.

    python -m hsuanwu_jax.train --config configs/impala_cartpole.py --workdir runs/cartpole \
        [--config.<field>=<value> ...]

`--config` takes a config file or a preset's name (`--config impala_atari`), as `load_config` does.

Writes `<workdir>/metrics.jsonl`, `<workdir>/checkpoints/` and `<workdir>/export`, prints progress and
the final test return (greedy or sampled, as `test_policy` says). Run again on the same workdir to resume from its newest checkpoint;
SIGTERM or Ctrl-C stops with a checkpoint (exit status 0) so that a rerun continues.
"""

from __future__ import annotations

import json
import pathlib
import sys

from absl import app, flags
from ml_collections import config_flags

from hsuanwu_jax.config.loading import preset_names, presets_dir
from hsuanwu_jax.parallel.hosts import is_primary
from hsuanwu_jax.run.trainer import DistributedTrainer
from hsuanwu_jax.runtime.process import limit_malloc_arenas

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "A config file with get_config(), or a preset's name (e.g. impala_atari)."
)
_WORKDIR = flags.DEFINE_string("workdir", None, "Output directory (overrides config.workdir).")


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    limit_malloc_arenas()
    cfg = _CONFIG.value
    if _WORKDIR.value:
        cfg.workdir = _WORKDIR.value
    trainer = DistributedTrainer(cfg)
    try:
        trainer.train()
        if trainer.stopped_early:  # preempted: the checkpoint is written, leave quickly
            return
        result = trainer.test()
    finally:
        trainer.close()
    if not is_primary():  # in a multi-host run, process 0 reports
        return
    print("\n".join(final_test_lines(result)))


def final_test_lines(result: dict) -> list[str]:
    """What the command line prints of its final test: the result as JSON (without the per-episode list),
    one line per task of a multi-task run, and the return over all its episodes."""
    result = dict(result)
    per_task = result.pop("tasks", {})
    lines = [
        "final test: "
        + json.dumps({k: v for k, v in result.items() if k not in ("episode_rewards", "train_envs")})
    ]
    for task, stats in per_task.items():
        normalised = stats.get("human_normalised")
        extra = "" if normalised is None else f" (human-normalised {normalised:.3f})"
        lines.append(
            f"final test {task}: return {stats['episode_reward']:.2f} over {stats['num_episodes']} episodes{extra}"
        )
    lines.append(
        f"final test return {result['episode_reward']:.2f} over {result['num_episodes']} {result['policy']} episodes"
    )
    train_envs = result.get("train_envs")
    if train_envs:
        lines.append(
            f"final test return on envs like the training ones (env_kwargs alone): {train_envs['episode_reward']:.2f}"
        )
    return lines


def with_preset_paths(argv: list[str]) -> list[str]:
    """`argv` with a preset's name given to `--config` (`--config impala_atari`, a value without a file
    suffix) replaced by the installed preset's file, so the command line takes what `load_config` takes."""
    argv = list(argv)
    for index, arg in enumerate(argv):
        name, equals, value = arg.partition("=")
        if name not in ("--config", "-config"):
            continue
        if not equals:
            if index + 1 == len(argv):
                break
            index, value = index + 1, argv[index + 1]
        if pathlib.Path(value).suffix or pathlib.Path(value).is_file():
            break
        preset = presets_dir() / f"{value}.py"
        if not preset.is_file():
            raise ValueError(f"--config {value!r} is neither a config file nor a preset: {preset_names()}")
        argv[index] = f"{name}={preset}" if equals else str(preset)
        break
    return argv


def train_command(config: str, workdir: str, *overrides: str, **fields) -> list[str]:
    """The argv of `python -m hsuanwu_jax.train` for config file `config` in `workdir`, with `fields` as
    `--config.<field>=<value>` and raw `overrides` (e.g. "--config.lr=1e-3") after them; for scripts and
    schedulers that start (and restart) training runs as processes."""
    field_flags = [f"--config.{name}={value}" for name, value in fields.items()]
    return [
        sys.executable,
        "-m",
        "hsuanwu_jax.train",
        "--config",
        config,
        "--workdir",
        workdir,
        *field_flags,
        *overrides,
    ]


def run() -> None:
    """`python -m hsuanwu_jax.train`."""
    flags.mark_flag_as_required("config")
    try:
        argv = with_preset_paths(sys.argv)
    except ValueError as error:
        sys.exit(f"error: {error}")
    app.run(main, argv=argv)


if __name__ == "__main__":
    run()
