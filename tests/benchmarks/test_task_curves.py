"""benchmarks/task_curves.py: each task's training-episode return by windows of its own env steps."""

import json
import subprocess
import sys

from helpers import ROOT


def line(step, shares, episodes, returns):
    """A metrics line of a two-task run (tasks A and B) as the trainer writes it."""
    record = {"step": step, "time": step / 100.0}
    for task, share, count, mean in zip("AB", shares, episodes, returns, strict=True):
        record[f"env_steps_share/{task}"] = share
        record[f"num_episodes/{task}"] = count
        record[f"episode_reward/{task}"] = mean
    return record


def task_curves(*args) -> subprocess.CompletedProcess:
    command = [sys.executable, "benchmarks/task_curves.py", *map(str, args)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_episodes_fall_in_windows_of_their_own_tasks_steps_and_a_resume_replaces_what_it_repeats(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    lines = [
        line(100, (0.4, 0.6), (2, 1), (1.0, 10.0)),  # A at 40 env steps, B at 60
        line(200, (0.1, 0.9), (1, 0), (4.0, None)),  # A at 50, B at 150
        line(300, (0.5, 0.5), (5, 5), (100.0, 100.0)),  # logged, then lost: the run resumed from step 200
        line(250, (1.0, 0.0), (1, 0), (7.0, None)),  # A at 100, B at 150
        line(400, (0.0, 1.0), (0, 2), (None, 20.0)),  # A at 100, B at 300
    ]
    (run / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines) + '{"step": 5')
    out = tmp_path / "curves.json"
    result = task_curves(run, "--window", 50, "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    curves = {row["task"]: row["returns"] for row in json.loads(out.read_text())["curves"]}
    # A's windows (0, 50] and (50, 100]: episodes weighted by their count, the repeated line's left out
    assert curves["A"] == [(2 * 1.0 + 4.0) / 3, 7.0]
    assert curves["B"] == [None, 10.0, None, None, None, 20.0]  # whole windows up to B's 300 env steps

    single = tmp_path / "single"
    single.mkdir()
    records = [
        {"step": 40, "episode_reward": 3.0, "num_episodes": 1},
        {"step": 90, "episode_reward": 6.0, "num_episodes": 2},  # both in (50, 100]
        {"step": 100, "episode_reward": 9.0, "num_episodes": 1},
        {"step": 120},  # no episode ended: (100, 150] is not whole either
    ]
    (single / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    failed = task_curves(single, "--out", out)
    assert failed.returncode != 0 and "needs its config.json with env_id" in failed.stderr, failed.stderr[
        -3000:
    ]
    (single / "config.json").write_text(json.dumps({"env_id": "Breakout-v5"}))
    result = task_curves(run, single, "--window", 50, "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = json.loads(out.read_text())["curves"]
    assert rows[-1] == {"run": str(single), "task": "Breakout-v5", "returns": [3.0, (2 * 6.0 + 9.0) / 3]}
    for args, message in (
        ((tmp_path / "absent",), "no metrics.jsonl with complete lines"),
        ((run, "--window", 0), "--window must be a positive number"),
    ):
        failed = task_curves(*args, "--out", out)
        assert failed.returncode != 0 and message in failed.stderr, failed.stderr[-3000:]
