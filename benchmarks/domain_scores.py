"""One domain's scores from several suite files: every task's final greedy and sampled tests per seed against
random play and its reference, and the IQM and median of the normalised scores with 95% confidence intervals.

    python benchmarks/domain_scores.py benchmarks/results/suite_mujoco_minibatches4_lambda095.json \
        benchmarks/results/suite_mujoco_v2_halfcheetah.json benchmarks/results/suite_mujoco_v2.json \
        --out benchmarks/results/domain_mujoco.json [--plot benchmarks/results/domain_mujoco.png]

A domain's runs often come from several `benchmarks/suite.py` files (suites run side by side, seeds added
later). Files are read in the order given: a later file's run of a task and seed replaces an earlier one's, and
a task's random play and reference are the last file's that names the task. The table lists every seed a task
has; the aggregate is over the seeds every task has (stratified bootstrap needs as many runs per task), named
in the output. Each file's config and overrides are listed beside the scores, for the reader to check that the
runs are of one preset.
"""

from __future__ import annotations

import json

from common import script_parser, write_json
from suite import BOOTSTRAP_REPS, plot_suite, report


def merge_suites(paths: list[str]) -> tuple[dict[str, dict], list[dict], list[dict]]:
    """(tasks, runs, sources): every task with a run, its random play and reference; one run per (task, seed),
    the later file's winning; and each file's config, overrides and the runs it supplied."""
    tasks: dict[str, dict] = {}
    runs: dict[tuple[str, int], dict] = {}
    sources = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            suite = json.load(f)
        tasks.update(suite["tasks"])
        for run in suite["runs"]:
            kept = {key: value for key, value in run.items() if key != "trace"}  # the source file keeps it
            runs[run["task"], run["seed"]] = {**kept, "source": path}
        sources.append({"path": path, "config": suite["config"], "overrides": suite["overrides"]})
    for task in [t for t in tasks if not any(r["task"] == t for r in runs.values())]:
        print(f"{task}: no runs yet, left out")
        del tasks[task]
    merged = sorted(runs.values(), key=lambda r: (list(tasks).index(r["task"]), r["seed"]))
    for source in sources:
        source["runs"] = [[r["task"], r["seed"]] for r in merged if r["source"] == source["path"]]
    return tasks, merged, sources


def common_seeds(tasks: dict[str, dict], runs: list[dict]) -> list[int]:
    """The seeds that every task has a run for, ascending."""
    per_task = [{r["seed"] for r in runs if r["task"] == task} for task in tasks]
    return sorted(set.intersection(*per_task))


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("suites", nargs="+", help="suite JSON files, later ones winning")
    parser.add_argument("--out", required=True, help="the JSON file to write")
    parser.add_argument("--plot", default="", help="a PNG of every run's greedy tests and the aggregate")
    args = parser.parse_args()
    tasks, runs, sources = merge_suites(args.suites)
    seeds = common_seeds(tasks, runs)
    if not seeds:
        raise SystemExit("no seed has a run of every task: the aggregate needs one at least")
    for source in sources:
        print(f"{source['path']}: {source['config']} {source['overrides']}, {len(source['runs'])} runs")
    result = {"sources": sources, "aggregate_seeds": seeds, "tasks": tasks, "runs": runs}
    result.update(report(runs, tasks, seeds, BOOTSTRAP_REPS))
    write_json(args.out, result)
    if args.plot:
        plot_suite(result, args.plot)


if __name__ == "__main__":
    main()
