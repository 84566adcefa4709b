"""Time to a score: wall-clock seconds from process start until the mean return of the last `--window` whole
training games reaches each target, and that mean at fixed wall-clock budgets; over tasks and seeds.

    python benchmarks/time_to_score.py --config configs/impala_atari.py --tasks Pong-v5 Breakout-v5 \
        --seeds 1 2 3 --target Pong-v5=0,18 --target Breakout-v5=30,100 --window 100 \
        --max-steps 2500000 --budgets 600 1200 1800 --out benchmarks/results/time_to_score_atari.json

Each run is the command line (`python -m hsuanwu_jax.train`, a fresh process: imports, env creation and
compilation count) on the preset with only `env_id`, `seed` and `num_train_steps` (`--max-steps`) changed (and
`--set field=value` overrides, the same for all), no periodic tests; the clock starts when the process is
started and each metrics line is timed when this script first reads it (every 50 ms). A run stops when every
target is reached and the last budget has passed, or at `--max-steps`. The mean of the last N games at a line
takes the lines' own means, each weighted by its games, newest first, the oldest line in part (`last_games_mean`).
Runs are written to `--out` as they finish; a rerun with the same `--out` and settings skips those (a run cut
short is run again from the start: its clock would not mean anything resumed). Prints, per task and target, the
median seconds over seeds (runs that never reach it count as not reached: the median is then "not reached"
when half or more did not), the range, and env steps at the time.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time

from common import benchmark_parser, parse_overrides, print_table, run_cli_until, write_json

from hsuanwu_jax.cli.train import train_command


def last_games_mean(records: list[dict], window: int) -> float | None:
    """The mean return of the last `window` games finished by the end of `records` (metrics lines with
    `episode_reward`, the mean of the games that ended in the line's interval, and `num_episodes`, their
    count): the lines newest first, each weighted by its games, the oldest one counted for only as many as
    the window still needs. None before `window` games have ended."""
    total, needed = 0.0, window
    for record in reversed(records):
        count = record.get("num_episodes") or 0
        if not count or record.get("episode_reward") is None:
            continue
        taken = min(count, needed)
        total += taken * record["episode_reward"]
        needed -= taken
        if needed == 0:
            return total / window
    return None


def parse_targets(items: list[str]) -> dict[str, list[float]]:
    """`TASK=v1,v2` items as {task: [v1, v2]} (ascending)."""
    targets = {}
    for item in items:
        task, _, values = item.partition("=")
        if not values:
            raise SystemExit(f"--target {item!r}: expected TASK=VALUE[,VALUE...]")
        targets[task] = sorted(float(v) for v in values.split(","))
    return targets


def first_reaching(points: list[dict], target: float) -> dict | None:
    return next((p for p in points if p["score"] is not None and p["score"] >= target), None)


def score_at(points: list[dict], budget: float) -> float | None:
    """The last games' mean at the last line read within `budget` seconds."""
    within = [p["score"] for p in points if p["seconds"] <= budget and p["score"] is not None]
    return within[-1] if within else None


def run_one(args, task: str, seed: int, targets: list[float]) -> dict:
    flags = [f"--config.{item}" for item in args.set]
    with tempfile.TemporaryDirectory() as workdir:
        command = train_command(
            args.config,
            workdir,
            *flags,
            env_id=task,
            seed=seed,
            num_train_steps=args.max_steps,
            test_every=0,
            progress="none",
        )
        seen: list[dict] = []  # the metrics lines read so far
        points: list[dict] = []  # each of them as read: {seconds, step, score: the last games' mean}

        def watch(records, process):
            seconds = time.perf_counter() - started
            for record in records[len(seen) :]:
                seen.append(record)
                score = last_games_mean(seen, args.window)
                points.append({"seconds": seconds, "step": record["step"], "score": score})
            done = all(first_reaching(points, t) for t in targets)
            past_budgets = not args.budgets or (points and points[-1]["seconds"] >= max(args.budgets))
            return True if done and past_budgets else None

        started = time.perf_counter()  # the process is started at once
        run = run_cli_until(
            command,
            workdir,
            watch,
            limit=args.limit,
            wait=120,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        if run.returncode not in (0, None) and not run.stopped:
            raise SystemExit(f"{task} seed {seed} failed:\n{run.stderr[-3000:]}")
    reached = {str(t): first_reaching(points, t) for t in targets}
    print(
        f"{task} seed {seed}: "
        + ", ".join(
            f"{t}: " + ("not reached" if p is None else f"{p['seconds']:.0f} s at {p['step']:,} env steps")
            for t, p in reached.items()
        ),
        flush=True,
    )
    return {
        "task": task,
        "seed": seed,
        "reached": reached,
        "at_budgets": {str(b): score_at(points, b) for b in args.budgets},
        "final_step": points[-1]["step"] if points else 0,
        "final_score": points[-1]["score"] if points else None,
        "points": points,
    }


def summary_rows(runs: list[dict], targets: dict[str, list[float]], budgets: list[float]) -> list[dict]:
    rows = []
    for task, values in targets.items():
        task_runs = [r for r in runs if r["task"] == task]
        for target in values:
            hits = [r["reached"][str(target)] for r in task_runs]
            seconds = sorted(float("inf") if h is None else h["seconds"] for h in hits)
            median = statistics.median(seconds) if seconds else float("inf")
            reached = [h for h in hits if h is not None]
            rows.append(
                {
                    "task": task,
                    "target": target,
                    "seeds": len(task_runs),
                    "reached": len(reached),
                    "median_seconds": None if median == float("inf") else median,
                    "seconds": " / ".join("-" if h is None else f"{h['seconds']:.0f}" for h in hits),
                    "steps": " / ".join("-" if h is None else f"{h['step']:,}" for h in hits),
                    **{
                        f"score_at_{b:g}s": statistics.median(
                            [
                                r["at_budgets"][str(b)]
                                for r in task_runs
                                if r["at_budgets"][str(b)] is not None
                            ]
                            or [float("nan")]
                        )
                        for b in budgets
                    },
                }
            )
    return rows


def main() -> None:
    parser = benchmark_parser(__doc__, "benchmarks/results/time_to_score.json")
    parser.add_argument("--tasks", nargs="+", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--target", action="append", default=[], help="TASK=VALUE[,VALUE...]")
    parser.add_argument("--window", type=int, default=100, help="games the mean is taken over")
    parser.add_argument("--max-steps", type=int, required=True, help="env steps a run stops at")
    parser.add_argument("--budgets", type=float, nargs="*", default=[], help="wall-clock seconds")
    parser.add_argument("--limit", type=float, default=6 * 3600.0, help="seconds a run may take at most")
    args = parser.parse_args()
    args.overrides = parse_overrides(args.set)
    targets = parse_targets(args.target)
    missing = [task for task in args.tasks if task not in targets]
    if missing:
        raise SystemExit(f"no --target for {missing}")
    settings = {
        "config": args.config,
        "overrides": args.overrides,
        "window": args.window,
        "max_steps": args.max_steps,
        "targets": targets,
        "budgets": args.budgets,
    }
    runs = []
    if os.path.exists(args.out):
        with open(args.out, encoding="utf-8") as f:
            previous = json.load(f)
        if previous["settings"] == settings:
            runs = [r for r in previous["runs"] if r["task"] in args.tasks and r["seed"] in args.seeds]
            print(f"{len(runs)} runs already in {args.out}: not run again")
    for task in args.tasks:
        for seed in args.seeds:
            if not any(r["task"] == task and r["seed"] == seed for r in runs):
                runs.append(run_one(args, task, seed, targets[task]))
                write_json(args.out, {"settings": settings, "runs": runs})
    rows = summary_rows(runs, {t: targets[t] for t in args.tasks}, args.budgets)
    print_table(
        rows,
        [
            ("task", "task", "s"),
            ("target", "target", "g"),
            ("reached", "reached", "d"),
            ("median s", "median_seconds", ".0f"),
            ("seconds per seed", "seconds", "s"),
            ("env steps then", "steps", "s"),
            *((f"score at {b:g} s", f"score_at_{b:g}s", ".2f") for b in args.budgets),
        ],
    )
    write_json(args.out, {"settings": settings, "runs": runs, "summary": rows})


if __name__ == "__main__":
    main()
