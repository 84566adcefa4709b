"""A task suite: one preset on many tasks x seeds, final returns (the preset's test protocol; greedy and sampled both printed) against random play, and an
aggregate of normalised scores with confidence intervals.

    python benchmarks/suite.py --config configs/impala_classic_control.py \
        --tasks CartPole-v1 LunarLander-v2 Pendulum-v1 MountainCarContinuous-v0 --seeds 1 2 3 \
        --out benchmarks/results/suite_classic_control.json [--plot PATH.png] [--quick]

Every run is the preset as shipped with only `env_id` and `seed` changed (and `--set` overrides, the same for
all). Each run trains to the preset's num_train_steps with a greedy test every `--test-every` env steps, then
a final greedy test; its curve is written. A task's score is normalised so that random play is 0 and the
task's solved threshold is 1: (final - random) / (threshold - random). Thresholds are EnvPool's (gym's
`reward_threshold`) or `--threshold TASK=VALUE`; random play is `--random-episodes` episodes of uniform
random actions on the test env. A suite of Atari games (without --threshold) is human-normalised: the
published random and human scores (hsuanwu_jax/envs/atari_scores.py) are 0 and 1. The aggregate over tasks
is the interquartile mean (IQM) of the runs' normalised scores and the median over tasks of each task's mean
score, each with a 95% stratified-bootstrap confidence interval (rliable, Agarwal et al. 2021).

Runs are written to `--out` as they finish and a rerun with the same `--out` skips the runs already there,
so a long suite can be stopped and continued. `--quick` (for CI) trains each run for two updates.
"""

from __future__ import annotations

import json
import os
import sys

import envpool
import numpy as np
from common import benchmark_parser, parse_overrides, print_table, write_json
from learning_curves import run_seed
from random_policy import random_returns

from hsuanwu_jax import load_config
from hsuanwu_jax.envs.atari_scores import REFERENCE_SCORES, human_normalised

CONFIDENCE = 0.95
BOOTSTRAP_REPS = 2000
QUICK_BOOTSTRAP_REPS = 100
PANELS_PER_ROW = 4  # plot_suite wraps a domain of many tasks into rows


def solved_threshold(task: str, given: dict[str, float]) -> float:
    """The return that counts as solving `task`: `--threshold`, else a human's score for an Atari game
    (envs/atari_scores.py), else EnvPool's `reward_threshold`."""
    if task not in given and task in REFERENCE_SCORES:
        return REFERENCE_SCORES[task][1]
    if task in given:
        return given[task]
    threshold = getattr(envpool.make_spec(task).config, "reward_threshold", None)
    if threshold is None:
        raise SystemExit(f"{task} has no reward_threshold in EnvPool: give one with --threshold {task}=VALUE")
    return float(threshold)


def task_overrides(args, task: str, overrides: dict) -> dict:
    """The --set overrides with this run's task (and, with --quick, two updates and short tests)."""
    result = dict(overrides, env_id=task)
    if args.quick:
        cfg = load_config(args.config)
        cfg.update(result)
        result.update(
            num_train_steps=2 * cfg.batch_size * cfg.num_steps,
            num_test_episodes=2,
            test_max_episode_steps=200,
        )
    return result


def run_one(args, task: str, seed: int, overrides: dict) -> dict:
    test_every = 0 if args.quick else args.test_every
    run = run_seed(args.config, seed, test_every, task_overrides(args, task, overrides))
    print(
        f"{task} seed {seed}: final greedy test {run['final_greedy_test_episode_reward']:.1f}, sampled "
        f"{run['final_sampled_test_episode_reward']:.1f} (the preset's protocol: {run['test_policy']})"
        + (
            f"; on the training envs: greedy {run['final_greedy_train_envs_episode_reward']:.1f}, sampled "
            f"{run['final_sampled_train_envs_episode_reward']:.1f}"
            if "final_greedy_train_envs_episode_reward" in run
            else ""
        )
        + (" (collapse warning)" if run["collapse_warning"] else "")
        + "".join(f" (stall warning: {w.split(':')[0]})" for w in run["stall_warnings"]),
        flush=True,
    )
    return {"task": task, **run}


def random_play(args, task: str, overrides: dict) -> dict:
    cfg = load_config(args.config)
    cfg.update(dict(task_overrides(args, task, overrides), seed=0))
    returns = random_returns(cfg, args.random_episodes, seed=0)
    return {"returns": returns, "mean": float(np.mean(returns)), "std": float(np.std(returns))}


def human_normalised_suite(tasks: dict[str, dict]) -> bool:
    """Whether every task is an Atari game scored against the published random and human play (none given
    its own --threshold): then those, not the random play measured here, normalise the scores."""
    return all(
        task in REFERENCE_SCORES and info["threshold"] == REFERENCE_SCORES[task][1]
        for task, info in tasks.items()
    )


def normalised_scores(runs: list[dict], tasks: dict[str, dict], seeds: list[int]) -> np.ndarray:
    """`[num_seeds, num_tasks]` scores, random play 0 and the solved threshold 1 (for Atari games the
    published random and human scores: human-normalised)."""
    final = {(r["task"], r["seed"]): r["final_test_episode_reward"] for r in runs}
    if human_normalised_suite(tasks):
        return np.array([[human_normalised(task, final[task, seed]) for task in tasks] for seed in seeds])
    return np.array(
        [
            [
                (final[task, seed] - info["random"]["mean"]) / (info["threshold"] - info["random"]["mean"])
                for task, info in tasks.items()
            ]
            for seed in seeds
        ]
    )


def aggregate(scores: np.ndarray, reps: int) -> dict:
    """IQM over every (seed, task) score and the median of the tasks' mean scores, with their
    stratified-bootstrap confidence intervals (rliable)."""
    from rliable import library as rly
    from rliable import metrics

    saved = np.random.get_state()
    np.random.seed(0)  # rliable resamples from NumPy's global generator: the same resamples on every rerun
    try:
        point, interval = rly.get_interval_estimates(
            {"preset": scores},
            lambda s: np.array([metrics.aggregate_iqm(s), metrics.aggregate_median(s)]),
            reps=reps,
            confidence_interval_size=CONFIDENCE,
        )
    finally:
        np.random.set_state(saved)
    (iqm_low, median_low), (iqm_high, median_high) = interval["preset"]
    iqm, median = point["preset"]
    return {
        "iqm": float(iqm),
        "ci_low": float(iqm_low),
        "ci_high": float(iqm_high),
        "median": float(median),
        "median_ci_low": float(median_low),
        "median_ci_high": float(median_high),
        "reps": reps,
    }


def report(runs: list[dict], tasks: dict[str, dict], seeds: list[int], reps: int) -> dict:
    """Prints a row per task (every seed's final greedy and sampled test, its median, random play, the
    reference) and the aggregate over `seeds`; returns `normalised_scores` (`[len(seeds), num_tasks]`), the
    `aggregate` and the `normalisation` used."""
    scores = normalised_scores(runs, tasks, seeds)
    summary = aggregate(scores, reps)
    rows = []
    for column, (task, info) in enumerate(tasks.items()):
        task_runs = sorted((r for r in runs if r["task"] == task), key=lambda r: r["seed"])
        finals = [r["final_test_episode_reward"] for r in task_runs]  # the preset's test_policy
        greedy = [
            r.get("final_greedy_test_episode_reward", r["final_test_episode_reward"]) for r in task_runs
        ]
        sampled = [r.get("final_sampled_test_episode_reward") for r in task_runs]
        rows.append(
            {
                "task": task,
                "seeds": " / ".join(str(r["seed"]) for r in task_runs),
                "greedy": " / ".join(f"{v:.1f}" for v in greedy),
                "sampled": " / ".join("-" if v is None else f"{v:.1f}" for v in sampled),
                "collapses": sum(bool(r.get("collapse_warning")) for r in task_runs),
                "stalls": sum(len(r.get("stall_warnings", [])) for r in task_runs),
                "median": float(np.median(finals)),
                "random": info["random"]["mean"],
                "threshold": info["threshold"],
                "score": float(np.median(scores[:, column])),
            }
        )
    print_table(
        rows,
        [
            ("task", "task", "s"),
            ("seeds", "seeds", "s"),
            ("final greedy test", "greedy", "s"),
            ("final sampled test", "sampled", "s"),
            ("collapse warnings", "collapses", "d"),
            ("stall warnings", "stalls", "d"),
            ("median", "median", ",.1f"),
            ("random", "random", ",.1f"),
            ("solved", "threshold", ",.1f"),
            ("median normalised", "score", ".2f"),
        ],
    )
    kind = "human-normalised" if human_normalised_suite(tasks) else "normalised"
    protocol = runs[0].get("test_policy", "greedy")
    print(f"medians and scores: the preset's test protocol, {protocol} play")
    print(
        f"\nIQM {kind} score over {scores.size} runs (seeds {' '.join(map(str, seeds))}): "
        f"{summary['iqm']:.2f} ({CONFIDENCE:.0%} CI {summary['ci_low']:.2f} to {summary['ci_high']:.2f}); "
        f"median {summary['median']:.2f} ({summary['median_ci_low']:.2f} to {summary['median_ci_high']:.2f})"
    )
    return {"normalised_scores": scores.tolist(), "aggregate": summary, "normalisation": kind}


def plot_suite(result: dict, path: str) -> None:
    """One panel per task (each seed's greedy tests, random play and the threshold) and the IQM with its CI,
    `PANELS_PER_ROW` panels a row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = result["tasks"]
    panels = len(tasks) + 1
    columns = min(panels, PANELS_PER_ROW)
    rows = -(-panels // columns)
    fig, grid = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.0 * rows), squeeze=False)
    axes = grid.ravel()
    for ax in axes[panels:]:
        ax.set_visible(False)
    for ax, (task, info) in zip(axes, tasks.items(), strict=False):
        for run in (r for r in result["runs"] if r["task"] == task):
            points = [
                *run["curve"],
                {"step": run["num_train_steps"], "test_episode_reward": run["final_test_episode_reward"]},
            ]
            ax.plot(
                [p["step"] for p in points],
                [p["test_episode_reward"] for p in points],
                marker=".",
                label=f"seed {run['seed']}",
            )
        ax.axhline(info["random"]["mean"], color="grey", linestyle=":", label="random")
        ax.axhline(info["threshold"], color="black", linestyle="--", label="solved")
        ax.set_title(task, fontsize=9)
        ax.set_xlabel("env steps")
    for ax in grid[:, 0]:
        ax.set_ylabel("test return")
    axes[0].legend(fontsize=7)
    summary = result["aggregate"]
    ax = axes[panels - 1]
    ax.errorbar(
        [0],
        [summary["iqm"]],
        yerr=[[summary["iqm"] - summary["ci_low"]], [summary["ci_high"] - summary["iqm"]]],
        fmt="o",
        capsize=6,
    )
    ax.axhline(1.0, color="black", linestyle="--")
    ax.axhline(0.0, color="grey", linestyle=":")
    ax.set_xticks([])
    ax.set_title(f"IQM normalised score, {CONFIDENCE:.0%} CI", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")


def main() -> None:
    parser = benchmark_parser(__doc__, "benchmarks/results/suite.json")
    parser.add_argument("--tasks", nargs="+", required=True, help="EnvPool task ids")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--test-every", type=int, default=1_000_000, help="env steps between greedy tests")
    parser.add_argument("--threshold", nargs="*", default=[], help="TASK=VALUE where EnvPool has none")
    parser.add_argument("--random-episodes", type=int, default=20)
    parser.add_argument("--plot", default="", help="a PNG of the curves and the aggregate")
    parser.add_argument("--quick", action="store_true", help="two updates per run: checks the suite runs")
    args = parser.parse_args()
    overrides = parse_overrides(args.set)
    given = {k: float(v) for k, v in (item.split("=", 1) for item in args.threshold)}
    thresholds = {task: solved_threshold(task, given) for task in args.tasks}  # before any training
    done = []
    if os.path.exists(args.out):
        with open(args.out, encoding="utf-8") as f:
            previous = json.load(f)
        if (previous["config"], previous["overrides"], previous["quick"]) == (
            args.config,
            overrides,
            args.quick,
        ):
            done = [r for r in previous["runs"] if r["task"] in args.tasks and r["seed"] in args.seeds]
            print(f"{len(done)} runs already in {args.out}: not run again")
    tasks = {
        task: {"threshold": thresholds[task], "random": random_play(args, task, overrides)}
        for task in args.tasks
    }
    result = {
        "config": args.config,
        "overrides": overrides,
        "quick": args.quick,
        "command": " ".join(sys.argv),
    }
    runs = list(done)
    for task in args.tasks:
        for seed in args.seeds:
            if not any(r["task"] == task and r["seed"] == seed for r in runs):
                runs.append(run_one(args, task, seed, overrides))
                write_json(
                    args.out, {**result, "tasks": tasks, "runs": runs}
                )  # a stopped suite keeps its runs
    reps = QUICK_BOOTSTRAP_REPS if args.quick else BOOTSTRAP_REPS
    result.update(tasks=tasks, runs=runs, **report(runs, tasks, args.seeds, reps))
    write_json(args.out, result)
    if args.plot:
        plot_suite(result, args.plot)


if __name__ == "__main__":
    main()
