"""How often the stall alarm speaks on suite runs, split by whether each run learned: the warnings the runs
logged as they ran, and those the alarm as it is now says when their recorded log lines are played to it.

    python benchmarks/stall_alarm_counts.py benchmarks/results/suite_minigrid.json \
        benchmarks/results/suite_procgen.json ... --out benchmarks/results/stall_alarm_counts.json

A run counts as learned when its final test is at least `--learned` (0.5) of the way from random play to the
task's reference (the suite's own normalisation), as not learned under `--not-learned` (0.1), and as partly
learned between the two. Replayed: each log line of the run's `trace` (`step`, `grad_norm`, `policy_kl`,
`entropy`, `episode_reward`) in order, the run's `num_train_steps` as the target, `max_grad_norm` from its
config, the uniform policy's entropy from EnvPool's action space; the alarm sees a reward once a line's mean
episode return is not 0 (the traces keep no single rewards, so a run whose rewards all sum to 0 in every
episode would look unrewarded), and the first line's mean return stands for the first episodes' (the level a
return must rise above to count as learned). Only runs with a trace are replayed; every run's logged warnings are
counted.
"""

from __future__ import annotations

import collections
import json
import math

import envpool
import numpy as np
from common import print_table, script_parser, write_json

from hsuanwu_jax import load_config
from hsuanwu_jax.run.stall_alarm import StallAlarm

SAID = ("logged", "replayed")  # the warnings the run logged as it ran, and those the alarm gives now


def max_entropy(task: str) -> float | None:
    """ln(actions) for a task with discrete actions, None for continuous ones."""
    space = envpool.make_spec(task).action_space
    return float(math.log(space.n)) if hasattr(space, "n") else None


def replay(run: dict, max_grad_norm: float) -> list[str]:
    """The warnings the alarm gives over `run`'s recorded log lines."""
    alarm = StallAlarm(
        target_steps=run["num_train_steps"], max_grad_norm=max_grad_norm, max_entropy=max_entropy(run["task"])
    )
    said, first = [], None
    for line in run["trace"]:
        alarm.see_rewards(np.array([line.get("episode_reward") or 0.0]))
        first = line.get("episode_reward") if first is None else first
        said += alarm.check({"baseline_loss": math.nan, **line}, first_episodes_reward=first)
    return said


def score(run: dict, task: dict) -> float:
    random_mean = task["random"]["mean"]
    return (run["final_test_episode_reward"] - random_mean) / (task["threshold"] - random_mean)


def sign(warning: str) -> str:
    return warning.split(":")[0]


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("suites", nargs="+", help="suite JSON files (benchmarks/suite.py)")
    parser.add_argument("--learned", type=float, default=0.5, help="normalised score of a run that learned")
    parser.add_argument(
        "--not-learned", type=float, default=0.1, help="normalised score under which it did not"
    )
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rows = []
    for path in args.suites:
        with open(path, encoding="utf-8") as f:
            suite = json.load(f)
        cfg = load_config(suite["config"])
        cfg.update(suite["overrides"])
        for run in suite["runs"]:
            normalised = score(run, suite["tasks"][run["task"]])
            outcome = (
                "learned"
                if normalised >= args.learned
                else "not learned"
                if normalised < args.not_learned
                else "partly"
            )
            replayed = replay(run, cfg.max_grad_norm) if run.get("trace") else None
            rows.append(
                {
                    "suite": path.rsplit("/", 1)[-1],
                    "task": run["task"],
                    "seed": run["seed"],
                    "score": normalised,
                    "outcome": outcome,
                    "logged": [sign(w) for w in run.get("stall_warnings") or []],
                    "replayed": None if replayed is None else [sign(w) for w in replayed],
                    "replayed_lines": replayed,
                }
            )
    shown = [
        {**row, **{kind: None if row[kind] is None else ", ".join(row[kind]) or "none" for kind in SAID}}
        for row in rows
    ]
    columns = [("suite", "suite", "s"), ("task", "task", "s"), ("seed", "seed", "d")]
    columns += [("normalised", "score", ".2f"), ("outcome", "outcome", "s")]
    print_table(shown, [*columns, ("logged", "logged", "s"), ("replayed now", "replayed", "s")])
    counts = collections.Counter()
    for row in rows:
        for kind in SAID:
            if row[kind] is not None:
                counts[row["outcome"], kind, "runs"] += 1
                counts[row["outcome"], kind, "warned"] += bool(row[kind])
    summary = {
        f"{outcome} ({kind})": f"{counts[outcome, kind, 'warned']} of {counts[outcome, kind, 'runs']} runs warned"
        for outcome in ("learned", "partly", "not learned")
        for kind in SAID
        if counts[outcome, kind, "runs"]
    }
    for key, value in summary.items():
        print(f"{key}: {value}")
    thresholds = {"learned": args.learned, "not_learned": args.not_learned}
    write_json(args.out, {"suites": args.suites, **thresholds, "summary": summary, "runs": rows})


if __name__ == "__main__":
    main()
