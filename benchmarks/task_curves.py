"""Each task's training-episode return by its own env steps, from runs' metrics (multi-task or not).

    python benchmarks/task_curves.py runs/atari3 runs/atari3_shared [--window 250000] \
        [--out benchmarks/results/task_curves.json]

A multi-task run's log lines count env steps of all tasks together. This places every line at each task's
own env steps so far (the lines' `env_steps_share/<task>` times their intervals), cuts each task's steps into
windows of `--window` env steps, and gives each window the mean return of the task's training episodes that
ended in it (each line's mean weighted by its episode count); lines a resume logged again replace the lines
they repeat. A single-task run is one task (its config's `env_id`) at the run's own env steps. Prints a row per
run and task, a column per window end, and writes the same as JSON.
"""

from __future__ import annotations

import json
import os
import sys

from common import print_table, resumed_lines, script_parser, tasks_env_steps, write_json

from hsuanwu_jax.outputs.records import read_metrics


def windowed_returns(
    records: list[dict], task: str, task_steps: list[float], window: int
) -> list[float | None]:
    """The mean training-episode return of `task` in each window of `window` of its env steps, in order
    (None for a window in which none of its episodes ended). `task_steps[i]` is the task's env steps at
    `records[i]`; only whole windows are given."""
    sums: dict[int, float] = {}
    counts: dict[int, int] = {}
    for record, steps in zip(records, task_steps, strict=True):
        episodes = record.get(f"num_episodes/{task}", 0)
        mean = record.get(f"episode_reward/{task}")
        if episodes and mean is not None:
            index = max(int(-(-steps // window)) - 1, 0)  # the window (index*window, (index+1)*window]
            sums[index] = sums.get(index, 0.0) + mean * episodes
            counts[index] = counts.get(index, 0) + episodes
    whole = int(task_steps[-1] // window) if task_steps else 0
    return [sums[i] / counts[i] if counts.get(i) else None for i in range(whole)]


def run_curves(run_dir: str, window: int) -> list[dict]:
    """One row per task of the run in `run_dir`: the run, the task and its `windowed_returns`."""
    records = resumed_lines(read_metrics(os.path.join(run_dir, "metrics.jsonl")))
    if not records:
        raise ValueError(f"{run_dir}: no metrics.jsonl with complete lines")
    tasks = sorted({key.split("/", 1)[1] for r in records for key in r if key.startswith("env_steps_share/")})
    if not tasks:  # one task: every env step and episode is its
        task = _env_id(run_dir)
        records = [
            {
                **r,
                f"num_episodes/{task}": r.get("num_episodes", 0),
                f"episode_reward/{task}": r.get("episode_reward"),
            }
            for r in records
        ]
        steps = [r["step"] for r in records]
        return [{"run": run_dir, "task": task, "returns": windowed_returns(records, task, steps, window)}]
    lines = tasks_env_steps(records, tasks)
    return [
        {
            "run": run_dir,
            "task": task,
            "returns": windowed_returns(records, task, [x[task] for x in lines], window),
        }
        for task in tasks
    ]


def _env_id(run_dir: str) -> str:
    """The task of a single-task run: its config.json's `env_id`."""
    try:
        with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as f:
            return json.load(f)["env_id"]
    except (OSError, KeyError, ValueError) as error:
        raise ValueError(
            f"{run_dir}: a single-task run needs its config.json with env_id ({error})"
        ) from error


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("runs", nargs="+", help="run directories (each with a metrics.jsonl)")
    parser.add_argument("--window", type=int, default=250_000, help="env steps of a task per window")
    parser.add_argument("--out", default="benchmarks/results/task_curves.json", help="the JSON file to write")
    args = parser.parse_args()
    if args.window <= 0:
        sys.exit(f"task_curves: --window must be a positive number of env steps, got {args.window}")
    try:
        rows = [row for run in args.runs for row in run_curves(run, args.window)]
    except (OSError, ValueError) as error:
        sys.exit(f"task_curves: {error}")
    columns = max(len(row["returns"]) for row in rows)
    ends = [(i + 1) * args.window for i in range(columns)]
    print_table(
        [
            {**row, **{str(end): value for end, value in zip(ends, row["returns"], strict=False)}}
            for row in rows
        ],
        [("run", "run", "s"), ("task", "task", "s")] + [(f"{end:,}", str(end), ",.1f") for end in ends],
    )
    write_json(
        args.out, {"command": " ".join(sys.argv), "window": args.window, "window_ends": ends, "curves": rows}
    )


if __name__ == "__main__":
    main()
