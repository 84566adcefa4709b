"""Learning-curve plots: grouping by config, the mean ± std drawn, labels, and the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from hsuanwu_jax.outputs.curves import group_runs, load_run, mean_std, plot_runs

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = {"env_id": "CartPole-v1", "lr": 0.003, "seed": 1, "workdir": "", "init_model_path": ""}


def write_run(run_dir, steps, times, values, config=None, tail="") -> str:
    """A run directory with one metrics.jsonl line per step (value None -> null) and `tail` appended."""
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, "metrics.jsonl"), "w", encoding="utf-8") as f:
        for step, time, value in zip(steps, times, values, strict=True):
            record = {"step": int(step), "time": float(time), "sps": 100.0}
            record["episode_reward"] = None if value is None else float(value)
            f.write(json.dumps(record) + "\n")
        f.write(tail)
    if config is not None:
        with open(os.path.join(run_dir, "config.json"), "w", encoding="utf-8") as f:
            json.dump({**config, "workdir": str(run_dir)}, f)
    return str(run_dir)


def random_run(run_dir, rng, config=None, num=12, tail="") -> str:
    steps = 1000 * np.arange(1, num + 1)
    times = np.cumsum(rng.uniform(5.0, 15.0, num))  # seconds, a different clock per run
    values = np.cumsum(rng.normal(1.0, 2.0, num))
    return write_run(run_dir, steps, times, values, config, tail)


def band_limits(collection, grid):
    """The lowest and highest y of the band's polygon at each x of `grid`."""
    vertices = np.concatenate([path.vertices for path in collection.get_paths()])
    at = [vertices[np.isclose(vertices[:, 0], x), 1] for x in grid]
    return np.array([y.min() for y in at]), np.array([y.max() for y in at])


def mean_line(ax):
    """The one labelled line of a group's axes (the mean; each run's thin line has no label)."""
    (line,) = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    return line


def seconds_per_unit(ax) -> float:
    return {"wall time (seconds)": 1.0, "wall time (minutes)": 60.0, "wall time (hours)": 3600.0}[
        ax.get_xlabel()
    ]


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "hsuanwu_jax.plot", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_mean_std_by_hand():
    # Curve a is y = x on [0, 10]; curve b is 2 on [0, 10] with a point at 5, so the grid is [0, 5, 10].
    grid, mean, std = mean_std(
        [np.array([0.0, 10.0]), np.array([0.0, 5.0, 10.0])],
        [np.array([0.0, 10.0]), np.array([2.0, 2.0, 2.0])],
    )
    np.testing.assert_allclose(grid, [0.0, 5.0, 10.0])
    np.testing.assert_allclose(mean, [1.0, 3.5, 6.0])
    np.testing.assert_allclose(std, [1.0, 1.5, 4.0])


def test_mean_std_grid_is_the_range_every_curve_covers():
    grid, _, _ = mean_std([np.array([0.0, 4.0, 8.0]), np.array([2.0, 6.0, 12.0])], [np.ones(3), np.ones(3)])
    np.testing.assert_allclose(grid, [2.0, 4.0, 6.0, 8.0])


def test_drawn_mean_and_std_equal_numpy(tmp_path):
    rng = np.random.default_rng(0)
    dirs = [random_run(tmp_path / f"seed{s}", rng, {**CONFIG, "seed": s}) for s in range(3)]
    runs = [load_run(d) for d in dirs]
    fig = plot_runs(dirs)
    by_steps, by_time = fig.axes

    # Against env steps all seeds log at the same steps: the mean and std are over the raw values.
    values = np.stack([r.values for r in runs])
    thin = [line for line in by_steps.get_lines() if line.get_label().startswith("_")]
    for line, run in zip(thin, runs, strict=True):  # each run's own curve under the band
        np.testing.assert_allclose(line.get_xydata(), np.column_stack([run.steps, run.values]))
    line = mean_line(by_steps)
    np.testing.assert_allclose(line.get_xydata()[:, 0], runs[0].steps)
    np.testing.assert_allclose(line.get_xydata()[:, 1], values.mean(axis=0))
    low, high = band_limits(by_steps.collections[0], runs[0].steps)
    np.testing.assert_allclose(low, values.mean(axis=0) - values.std(axis=0))
    np.testing.assert_allclose(high, values.mean(axis=0) + values.std(axis=0))

    # Against wall time the clocks differ: every run's time inside the shared range, interpolated.
    clocks = [r.times / seconds_per_unit(by_time) for r in runs]
    every = np.unique(np.concatenate(clocks))
    grid = every[(every >= max(m[0] for m in clocks)) & (every <= min(m[-1] for m in clocks))]
    on_grid = np.stack([np.interp(grid, m, r.values) for m, r in zip(clocks, runs, strict=True)])
    line = mean_line(by_time)
    np.testing.assert_allclose(line.get_xydata()[:, 0], grid)
    np.testing.assert_allclose(line.get_xydata()[:, 1], on_grid.mean(axis=0))
    low, high = band_limits(by_time.collections[0], grid)
    # float64 both ways (the band is mean +- std, read back from matplotlib's path): values O(10), eps64
    # 2.2e-16: 1e-9 is far above rounding and far below any wrong band.
    np.testing.assert_allclose(high - low, 2 * on_grid.std(axis=0), atol=1e-9)


def test_groups_and_legend(tmp_path):
    rng = np.random.default_rng(1)
    a = random_run(tmp_path / "a", rng, {**CONFIG, "seed": 1})
    b = random_run(tmp_path / "b", rng, {**CONFIG, "seed": 2, "init_model_path": "export"})
    c = random_run(tmp_path / "c", rng, {**CONFIG, "lr": 0.01})
    d = random_run(tmp_path / "d", rng)  # an older run without config.json
    groups = group_runs([load_run(x) for x in (a, b, c, d)])
    assert [[r.path for r in g] for g in groups] == [[a, b], [c], [d]]

    fig = plot_runs([a, b, c, d])
    for ax in fig.axes:
        assert len(ax.get_lines()) == 5  # the group's two thin lines and its mean, c, d
        assert len(ax.collections) == 1  # a band for the two-seed group only
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["CartPole-v1 lr=0.003 (2 seeds)", "c", "d"]

    fig = plot_runs([a, b, c, d], labels=["base", "high lr", "old"])
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["base", "high lr", "old"]
    with pytest.raises(ValueError, match="one label per group"):
        plot_runs([a, b, c, d], labels=["a", "b", "c", "d"])


def test_axis_labels_and_title(tmp_path):
    run = random_run(tmp_path / "run", np.random.default_rng(2), CONFIG)
    figures_before = plt.get_fignums()
    fig = plot_runs([run])
    assert plt.get_fignums() == figures_before  # not left in pyplot: a notebook shows it once
    by_steps, by_time = fig.axes
    assert by_steps.get_xlabel() == "env steps"
    assert load_run(run).times[-1] < 180 and by_time.get_xlabel() == "wall time (seconds)"
    assert by_steps.get_ylabel() == "training episode return"  # the axes share it
    assert "episode_reward" in fig.get_suptitle()
    np.testing.assert_allclose(by_time.get_lines()[0].get_xdata(), load_run(run).times)
    long_run = write_run(tmp_path / "long", [1, 2], [60.0, 4 * 3600.0], [0.0, 1.0])
    assert plot_runs([long_run], metric="episode_reward").axes[1].get_xlabel() == "wall time (hours)"


def test_null_values_and_half_written_last_line_are_skipped(tmp_path):
    run = write_run(
        tmp_path / "run",
        steps=[100, 200, 300, 400],
        times=[1.0, 2.0, 3.0, 4.0],
        values=[None, 2.5, None, -1.5],
        tail='{"step": 500, "time": 5.0, "episode_rew',
    )
    loaded = load_run(run)
    np.testing.assert_array_equal(loaded.steps, [200, 400])
    np.testing.assert_allclose(loaded.values, [2.5, -1.5])
    assert loaded.config is None
    (line,) = plot_runs([run]).axes[0].get_lines()
    np.testing.assert_allclose(line.get_xydata(), [[200, 2.5], [400, -1.5]])


def test_wall_time_continues_across_a_resume(tmp_path):
    # A resumed run's clock restarts at 0 after the checkpoint at step 200.
    run = write_run(tmp_path / "run", [100, 200, 300, 400], [10.0, 20.0, 4.0, 9.0], [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(load_run(run).times, [10.0, 20.0, 24.0, 29.0])


def test_cli_writes_png_and_ignores_a_half_written_line(tmp_path):
    rng = np.random.default_rng(3)
    dirs = [random_run(tmp_path / f"seed{s}", rng, {**CONFIG, "seed": s}) for s in range(2)]
    dirs.append(random_run(tmp_path / "running", rng, {**CONFIG, "lr": 0.01}, tail='{"step": 99000, "ti'))
    out = tmp_path / "plots" / "curves.png"
    result = run_cli(*dirs, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert result.stderr == ""
    assert out.stat().st_size > 10_000
    with Image.open(out) as image:
        assert image.format == "PNG"
        assert image.size == (1100, 400)


def test_cli_without_data_exits_2(tmp_path):
    missing = str(tmp_path / "missing")
    empty = str(tmp_path / "empty")
    os.makedirs(empty)
    no_rewards = write_run(tmp_path / "no_rewards", [100, 200], [1.0, 2.0], [None, None])
    result = run_cli(missing, empty, no_rewards, "--out", str(tmp_path / "curves.png"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"{missing}: no such directory" in result.stderr
    assert f"{empty}: no metrics.jsonl" in result.stderr
    assert f"{no_rewards}: no complete record with a value for 'episode_reward'" in result.stderr
    assert not (tmp_path / "curves.png").exists()


def test_cli_warns_about_an_empty_dir_and_plots_the_rest(tmp_path):
    good = random_run(tmp_path / "good", np.random.default_rng(4), CONFIG)
    empty = str(tmp_path / "empty")
    os.makedirs(empty)
    out = tmp_path / "curves.png"
    result = run_cli(good, empty, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("warning:")
    assert empty in result.stderr and good not in result.stderr
    assert out.exists()
