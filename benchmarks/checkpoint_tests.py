"""Greedy and sampled test returns of training checkpoints, each played again on the run's test protocol.

    python benchmarks/checkpoint_tests.py runs/boxing/checkpoints/1000000 runs/boxing/checkpoints/2000000 \
        [--episodes 10] [--out benchmarks/results/checkpoint_tests.json]

A run's periodic tests are greedy only. This plays each checkpoint (a directory `RUN_DIR/checkpoints/STEP`
whose run's `config.json` is `RUN_DIR/config.json`) both ways: greedy (the most likely action) and sampled (as
the actors act; the published Atari returns of PPO and IMPALA are the sampled policy's). A near-uniform policy's
greedy play repeats one action, which can score far below random play while its samples score near it. Each
checkpoint is restored by a trainer built from the run's config in a scratch copy holding only that checkpoint,
with `num_test_episodes=--episodes` whole test episodes per mode. Prints a table and writes JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile

from common import print_table, script_parser, tasks_env_steps, write_json

from hsuanwu_jax import DistributedTrainer
from hsuanwu_jax.config.defaults import default_config
from hsuanwu_jax.config.fields import PLACEMENT_FIELDS
from hsuanwu_jax.outputs.records import read_metrics


def test_checkpoint(checkpoint: str, episodes: int) -> list[dict]:
    """One row per task of the checkpoint's run (one for a single-task run): `{"checkpoint", "env_id",
    "env_steps", "greedy", "sampled"}`, each mode's mean return, its std and its episodes' returns from
    `episodes` whole test episodes of the checkpoint's params; `task_env_steps` too in a multi-task run."""
    checkpoint = os.path.normpath(checkpoint)
    checkpoints_dir = os.path.dirname(checkpoint)
    if os.path.basename(checkpoints_dir) != "checkpoints":
        raise ValueError(f"{checkpoint}: expected a checkpoint directory RUN_DIR/checkpoints/STEP")
    run_dir = os.path.dirname(checkpoints_dir)
    with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    with tempfile.TemporaryDirectory() as workdir:
        shutil.copytree(checkpoint, os.path.join(workdir, "checkpoints", os.path.basename(checkpoint)))
        placement = {field: default_config()[field] for field in PLACEMENT_FIELDS}
        config.update(placement, workdir=workdir, progress="none", num_test_episodes=episodes)
        trainer = DistributedTrainer(config)
        try:
            modes = {mode: trainer.test(greedy=mode == "greedy") for mode in ("greedy", "sampled")}
            env_steps = trainer.env_steps
        finally:
            trainer.close()
    row = {"checkpoint": checkpoint, "env_steps": env_steps}
    if "tasks" not in modes["greedy"]:
        return [{**row, "env_id": config["env_id"], **_mode_results(modes)}]
    tasks = list(modes["greedy"]["tasks"])
    steps = task_env_steps(read_metrics(os.path.join(run_dir, "metrics.jsonl")), tasks, env_steps)
    return [
        {
            **row,
            "env_id": task,
            "task_env_steps": steps[task],
            **_mode_results({mode: result["tasks"][task] for mode, result in modes.items()}),
        }
        for task in tasks
    ]


def task_env_steps(records: list[dict], tasks: list[str], env_steps: int) -> dict[str, int]:
    """Each task's part of a multi-task run's first `env_steps` env steps (`tasks_env_steps` at the last
    metrics line up to `env_steps`, scaled to sum to `env_steps`)."""
    lines = tasks_env_steps([r for r in records if r["step"] <= env_steps], tasks)
    learned = {task: lines[-1][task] for task in tasks} if lines else {}
    total = sum(learned.values())
    if total == 0:
        raise ValueError(f"no metrics line up to env step {env_steps:,} gives the tasks' shares")
    return {task: round(env_steps * part / total) for task, part in learned.items()}


def _mode_results(modes: dict[str, dict]) -> dict[str, dict]:
    return {
        mode: {key: result[key] for key in ("episode_reward", "episode_reward_std", "episode_rewards")}
        for mode, result in modes.items()
    }


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("checkpoints", nargs="+", help="checkpoint directories RUN_DIR/checkpoints/STEP")
    parser.add_argument(
        "--episodes", type=int, default=10, help="whole test episodes per checkpoint and mode"
    )
    parser.add_argument(
        "--out", default="benchmarks/results/checkpoint_tests.json", help="the JSON file to write"
    )
    args = parser.parse_args()
    try:
        rows = [row for path in args.checkpoints for row in test_checkpoint(path, args.episodes)]
    except (OSError, ValueError) as error:
        sys.exit(f"checkpoint_tests: {error}")
    print_table(
        [
            {
                **row,
                "greedy_return": row["greedy"]["episode_reward"],
                "sampled_return": row["sampled"]["episode_reward"],
                "task_steps": f"{row['task_env_steps']:,}" if "task_env_steps" in row else "-",
            }
            for row in rows
        ],
        [
            ("task", "env_id", "s"),
            ("env steps", "env_steps", ",d"),
            ("the task's env steps", "task_steps", "s"),
            (f"greedy ({args.episodes} episodes)", "greedy_return", ".1f"),
            ("sampled", "sampled_return", ".1f"),
        ],
    )
    write_json(args.out, {"episodes": args.episodes, "command": " ".join(sys.argv), "checkpoints": rows})


if __name__ == "__main__":
    main()
