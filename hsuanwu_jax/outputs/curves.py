"""Learning curves of training runs: `plot_runs` for notebooks, and a command line that writes a PNG.

    python -m hsuanwu_jax.plot runs/a runs/b [...] --out curves.png [--metric episode_reward]

Each run directory holds `metrics.jsonl` and, for newer runs, `config.json`. Runs whose configs are equal
apart from `RUN_SPECIFIC_FIELDS` form one group, drawn as the mean across its runs with a shaded
mean ± std band; a run without config.json is a group of its own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter

from hsuanwu_jax.config.fields import OUTPUT_FIELDS
from hsuanwu_jax.outputs.records import read_metrics

# Config fields that do not split groups: what differs between seeds, and outputs that do not change learning.
RUN_SPECIFIC_FIELDS = ("seed", "init_model_path", *OUTPUT_FIELDS)


FIGURE_SIZE_INCHES = (11.0, 4.0)  # the CLI saves at 100 dpi: 1100 x 400 pixels


_Y_LABELS = {  # y-axis labels of the common metrics; others are labelled with their name alone
    "episode_reward": "training episode return",
    "test_episode_reward": "test return",
    "episode_length": "episode length (env steps)",
    "sps": "env steps per second",
}


@dataclass(frozen=True)
class Run:
    """One run's curve of a metric; records whose metric is null or missing are left out."""

    path: str
    steps: np.ndarray  # [N] int64 env steps
    times: np.ndarray  # [N] float64 seconds of training, summed over resumes
    values: np.ndarray  # [N] float64 values of the metric
    config: dict[str, Any] | None  # the run's config.json; None when it has none


def load_run(run_dir: str, metric: str = "episode_reward") -> Run:
    """Reads the complete records of `run_dir/metrics.jsonl` (a half-written last line is ignored).

    Raises ValueError with a one-line reason naming `run_dir` when the directory does not exist, has no
    metrics.jsonl, has an unreadable config.json, or has no complete record with a value for `metric`.
    """
    metrics_path = os.path.join(run_dir, "metrics.jsonl")
    if not os.path.isdir(run_dir):
        raise ValueError(f"{run_dir}: no such directory")
    if not os.path.isfile(metrics_path):
        raise ValueError(f"{run_dir}: no metrics.jsonl")
    records = [r for r in read_metrics(metrics_path) if _is_number(r.get("time"))]
    times = _training_time(np.array([r["time"] for r in records], dtype=np.float64))
    kept = [i for i, r in enumerate(records) if _is_number(r.get(metric))]
    if not kept:
        raise ValueError(f"{run_dir}: no complete record with a value for '{metric}'")
    return Run(
        path=run_dir,
        steps=np.array([records[i]["step"] for i in kept], dtype=np.int64),
        times=times[kept],
        values=np.array([records[i][metric] for i in kept], dtype=np.float64),
        config=_read_config(run_dir),
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _training_time(times: np.ndarray) -> np.ndarray:
    """A resumed run restarts its clock at 0, so each restart continues from the last time before it."""
    if times.size == 0:
        return times
    restarts = np.concatenate([[0.0], np.where(np.diff(times) < 0, times[:-1], 0.0)])
    return times + np.cumsum(restarts)


def _read_config(run_dir: str) -> dict[str, Any] | None:
    path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{run_dir}: unreadable config.json ({e})") from e
    if not isinstance(config, dict):
        raise ValueError(f"{run_dir}: config.json is not a JSON object")
    return config


def group_runs(runs: Sequence[Run]) -> list[list[Run]]:
    """Runs with equal configs apart from `RUN_SPECIFIC_FIELDS`, in order of each group's first run."""
    groups: dict[str, list[Run]] = {}
    for index, run in enumerate(runs):
        shared = None if run.config is None else _shared_config(run.config)
        key = f"no config #{index}" if shared is None else json.dumps(shared, sort_keys=True, default=str)
        groups.setdefault(key, []).append(run)
    return list(groups.values())


def _shared_config(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in RUN_SPECIFIC_FIELDS}


def mean_std(xs: Sequence[np.ndarray], ys: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mean and (population, ddof=0) std across curves `(xs[i], ys[i])`, each [N_i] with increasing x.

    Returns `(grid, mean, std)`, each [G]: the grid is every x of any curve inside the range all curves
    cover, and each curve is linearly interpolated onto it. G is 0 when the curves share no range.
    """
    low, high = max(x[0] for x in xs), min(x[-1] for x in xs)
    every_x = np.unique(np.concatenate(xs))
    grid = every_x[(every_x >= low) & (every_x <= high)]
    stacked = np.stack([np.interp(grid, x, y) for x, y in zip(xs, ys, strict=True)])
    return grid, stacked.mean(axis=0), stacked.std(axis=0)


def group_label(group: Sequence[Run], groups: Sequence[Sequence[Run]]) -> str:
    """A one-run group: the directory's basename. A larger group: its env_id, the config fields whose
    values differ between the groups (sorted, as `field=value`), and the count, e.g.
    "CartPole-v1 lr=0.003 (3 seeds)"."""
    if len(group) == 1:
        return os.path.basename(os.path.normpath(group[0].path))
    shared = _shared_config(group[0].config)
    configs = [_shared_config(g[0].config) for g in groups if g[0].config is not None]
    differing = sorted(k for k in set().union(*configs) if len({json.dumps(c.get(k)) for c in configs}) > 1)
    words = [str(shared["env_id"])] if "env_id" in shared else []
    words += [f"{k}={shared.get(k)}" for k in differing if k != "env_id"]
    return " ".join([*words, f"({len(group)} seeds)"])


def plot_runs(
    run_dirs: Sequence[str], metric: str = "episode_reward", labels: Sequence[str] | None = None
) -> Figure:
    """A figure of `metric` against env steps (left) and wall time (right; seconds, minutes or hours by the
    longest run), one curve per group: a single run as a line, a group as the mean with a ± std band
    drawn over its runs' own thin lines.

    `labels`, if given, names the groups (one per group, in order of each group's first run in
    `run_dirs`); otherwise `group_label` names them. Raises ValueError if a directory has no data (see
    `load_run`) or the number of labels is wrong. The figure is closed in pyplot, so a notebook shows the
    returned figure once.
    """
    return draw_runs([load_run(d, metric) for d in run_dirs], metric, labels)


def draw_runs(runs: Sequence[Run], metric: str, labels: Sequence[str] | None) -> Figure:
    groups = group_runs(runs)
    if labels is None:
        labels = [group_label(g, groups) for g in groups]
    elif len(labels) != len(groups):
        raise ValueError(f"{len(labels)} labels for {len(groups)} groups of runs (one label per group)")
    fig, (by_steps, by_time) = plt.subplots(
        1, 2, figsize=FIGURE_SIZE_INCHES, layout="constrained", sharey=True
    )
    plt.close(fig)  # the caller owns the figure; pyplot would show it a second time in a notebook
    time_unit, seconds_per_unit = _time_unit(max(r.times[-1] for r in runs))
    for index, (group, label) in enumerate(zip(groups, labels, strict=True)):
        color = f"C{index % 10}"
        _draw(by_steps, [r.steps.astype(np.float64) for r in group], [r.values for r in group], color, label)
        _draw(by_time, [r.times / seconds_per_unit for r in group], [r.values for r in group], color, label)
    by_steps.set(xlabel="env steps", ylabel=_Y_LABELS.get(metric, metric))
    by_steps.xaxis.set_major_formatter(EngFormatter(sep=""))  # 200k, 1.5M
    by_time.set(xlabel=f"wall time ({time_unit})")
    for ax in (by_steps, by_time):
        ax.grid(alpha=0.3)
    by_steps.legend()
    fig.suptitle(f"{metric}: mean ± std over seeds" if any(len(g) > 1 for g in groups) else metric)
    return fig


def _time_unit(longest_seconds: float) -> tuple[str, float]:
    """The unit that keeps wall-time ticks readable: seconds, minutes or hours, and its length in seconds."""
    if longest_seconds < 180:
        return "seconds", 1.0
    return ("minutes", 60.0) if longest_seconds < 3 * 3600 else ("hours", 3600.0)


def _draw(ax, xs: list[np.ndarray], ys: list[np.ndarray], color: str, label: str) -> None:
    """One run as a line; a group as its mean with a mean ± std band, over its runs as thin lines."""
    if len(xs) == 1:
        ax.plot(xs[0], ys[0], color=color, label=label)
        return
    for x, y in zip(xs, ys, strict=True):
        ax.plot(x, y, color=color, alpha=0.35, linewidth=0.8)
    grid, mean, std = mean_std(xs, ys)
    ax.plot(grid, mean, color=color, label=label, linewidth=2)
    ax.fill_between(grid, mean - std, mean + std, color=color, alpha=0.2, linewidth=0)
