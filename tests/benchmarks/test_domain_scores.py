"""benchmarks/domain_scores.py: suites merged into one domain, later files winning, the aggregate over the seeds
every task has, and its plot."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def suite_file(
    path: Path, tasks: dict[str, tuple[float, float]], finals: dict[tuple[str, int], float]
) -> str:
    """A suite JSON as benchmarks/suite.py writes it: tasks as (random mean, threshold), runs as final returns."""
    payload = {
        "config": "configs/impala_mujoco.py",
        "overrides": {},
        "tasks": {
            t: {"threshold": hi, "random": {"mean": lo, "returns": [lo]}} for t, (lo, hi) in tasks.items()
        },
        "runs": [
            {
                "task": t,
                "seed": s,
                "final_test_episode_reward": v,
                "num_train_steps": 10,
                "curve": [{"step": 5, "test_episode_reward": v / 2}],
                "trace": [{"step": 1}],
            }
            for (t, s), v in finals.items()
        ],
    }
    path.write_text(json.dumps(payload))
    return str(path)


def test_suites_merge_later_files_winning_and_aggregate_over_common_seeds(tmp_path):
    rng = np.random.default_rng(0)
    first = {("A", s): float(v) for s, v in zip((1, 2, 3), rng.normal(50, 30, 3), strict=True)}
    first.update({("B", s): float(v) for s, v in zip((1, 2, 3), rng.normal(-20, 5, 3), strict=True)})
    second = {("B", 2): 7.5, ("A", 4): 80.0, ("A", 5): 95.0}  # B seed 2 replaced; A's extra seeds only listed
    paths = [
        suite_file(tmp_path / "one.json", {"A": (10.0, 100.0), "B": (-40.0, 0.0)}, first),
        suite_file(tmp_path / "two.json", {"B": (-30.0, 10.0), "C": (0.0, 1.0)}, second),  # C has no runs
    ]
    out, plot = tmp_path / "domain.json", tmp_path / "domain.png"
    result = subprocess.run(
        [sys.executable, "benchmarks/domain_scores.py", *paths, "--out", str(out), "--plot", str(plot)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "C: no runs yet, left out" in result.stdout and plot.stat().st_size > 10_000
    domain = json.loads(out.read_text())
    assert domain["aggregate_seeds"] == [1, 2, 3] and list(domain["tasks"]) == ["A", "B"]
    finals = {**first, **second}
    runs = {(r["task"], r["seed"]): r for r in domain["runs"]}
    assert set(runs) == set(finals) and all("trace" not in r for r in runs.values())
    assert runs["B", 2]["source"] == paths[1] and runs["B", 1]["source"] == paths[0]
    bounds = {"A": (10.0, 100.0), "B": (-30.0, 10.0)}  # B's random play and reference from the later file
    expected = np.array(
        [
            [(finals[t, s] - bounds[t][0]) / (bounds[t][1] - bounds[t][0]) for t in ("A", "B")]
            for s in (1, 2, 3)
        ]
    )
    np.testing.assert_allclose(domain["normalised_scores"], expected, rtol=1e-12)
    flat = np.sort(expected.ravel())
    summary = domain["aggregate"]
    assert summary["iqm"] == pytest.approx(
        flat[1:5].mean()
    )  # 6 scores: the middle 4 (rliable trims 25% each side)
    assert summary["median"] == pytest.approx(np.median(expected.mean(axis=0)))  # over tasks' mean scores
    assert summary["ci_low"] <= summary["iqm"] <= summary["ci_high"]
    assert [s["runs"] for s in domain["sources"]] == [
        [["A", 1], ["A", 2], ["A", 3], ["B", 1], ["B", 3]],
        [["A", 4], ["A", 5], ["B", 2]],
    ]


def test_the_aggregate_is_the_same_on_every_rerun_and_leaves_numpys_generator_alone(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from suite import aggregate

    scores = np.random.default_rng(1).normal(1.0, 0.5, size=(5, 4))
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    first, second = aggregate(scores, reps=300), aggregate(scores, reps=300)
    assert first == second and first["ci_low"] < first["iqm"] < first["ci_high"]
    np.testing.assert_array_equal(np.random.get_state()[1], before)


@pytest.mark.parametrize(("num_tasks", "rows"), [(3, 1), (11, 3)])
def test_a_domain_of_many_tasks_is_plotted_in_rows_of_four_panels(tmp_path, monkeypatch, num_tasks, rows):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from PIL import Image
    from suite import PANELS_PER_ROW, aggregate, plot_suite

    tasks = {f"T{i}": (0.0, 10.0) for i in range(num_tasks)}
    finals = {(t, 1): 5.0 + i for i, t in enumerate(tasks)}
    suite = json.loads(Path(suite_file(tmp_path / "s.json", tasks, finals)).read_text())
    suite["aggregate"] = aggregate(np.full((1, num_tasks), 0.5), reps=50)
    plot_suite(suite, str(tmp_path / "s.png"))
    width, height = Image.open(tmp_path / "s.png").size
    columns = min(num_tasks + 1, PANELS_PER_ROW)
    assert (width, height) == (320 * columns, 300 * rows)  # 3.2 x 3.0 inches a panel at 100 dpi
