"""Where long training runs stand: steps, hours, speed, greedy tests and policy entropy, from their workdirs.

    python benchmarks/run_summary.py runs/pong_v2 runs/pong_v5 [--last 10] [--out FILE]

Reads each run's metrics.jsonl (resumed runs included: the clock continues across restarts) and prints one
row per run: env steps, training hours, the median env steps/s of the logged intervals, the greedy test
returns in order, the mean training-episode return over the last `--last` logged intervals, and the last
logged entropy (nats per step). Writes the same as JSON.
"""

from __future__ import annotations

import sys

import numpy as np
from common import print_table, script_parser, write_json

from hsuanwu_jax.outputs.curves import load_run


def summarize(run_dir: str, last: int) -> dict:
    speed = load_run(run_dir, "sps")
    training = load_run(run_dir, "episode_reward")
    entropy = load_run(run_dir, "entropy")
    try:
        tests = load_run(run_dir, "test_episode_reward")
        test_points = [[int(s), float(v)] for s, v in zip(tests.steps, tests.values, strict=True)]
    except ValueError:  # no test yet
        test_points = []
    return {
        "run": run_dir,
        "env_steps": int(speed.steps[-1]),
        "hours": float(speed.times[-1]) / 3600.0,
        "median_sps": float(np.median(speed.values)),
        "tests": test_points,
        "last_training_return": float(np.mean(training.values[-last:])),
        "entropy": float(entropy.values[-1]),
    }


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("runs", nargs="+", help="training workdirs")
    parser.add_argument(
        "--last", type=int, default=10, help="logged intervals averaged for the training return"
    )
    parser.add_argument("--out", default="benchmarks/results/run_summary.json", help="the JSON file to write")
    args = parser.parse_args()
    try:
        rows = [summarize(run, args.last) for run in args.runs]
    except ValueError as error:
        sys.exit(f"run_summary: {error}")
    print_table(
        [{**row, "tests_text": ", ".join(f"{v:.1f}" for _, v in row["tests"]) or "-"} for row in rows],
        [
            ("run", "run", "s"),
            ("env steps", "env_steps", ",d"),
            ("hours", "hours", ".2f"),
            ("env steps/s", "median_sps", ",.0f"),
            (f"training return (last {args.last})", "last_training_return", ".2f"),
            ("entropy", "entropy", ".3f"),
            ("greedy tests", "tests_text", "s"),
        ],
    )
    write_json(
        args.out,
        {
            "command": " ".join(sys.argv),
            "runs": rows,
        },
    )


if __name__ == "__main__":
    main()
