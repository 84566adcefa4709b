"""benchmarks/time_to_score.py: seconds from process start until the mean of the last N training games reaches
a target, and that mean at wall-clock budgets."""

import json
import subprocess
import sys

from helpers import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from time_to_score import first_reaching, last_games_mean, score_at


def test_the_last_games_mean_weights_lines_by_their_games_newest_first():
    records = [
        {"step": 1, "episode_reward": 1.0, "num_episodes": 3},
        {"step": 2, "episode_reward": None, "num_episodes": 0},  # no game ended in this interval
        {"step": 3, "episode_reward": 4.0, "num_episodes": 2},
    ]
    assert last_games_mean(records, 2) == 4.0
    assert last_games_mean(records, 4) == (2 * 4.0 + 2 * 1.0) / 4  # the oldest line counts for 2 of its 3
    assert last_games_mean(records, 5) == (2 * 4.0 + 3 * 1.0) / 5
    assert last_games_mean(records, 6) is None  # 5 games so far
    points = [
        {"seconds": 10.0, "step": 1, "score": None},
        {"seconds": 20.0, "step": 2, "score": 3.0},
        {"seconds": 30.0, "step": 3, "score": 7.0},
    ]
    assert first_reaching(points, 5.0)["seconds"] == 30.0 and first_reaching(points, 8.0) is None
    assert score_at(points, 25.0) == 3.0 and score_at(points, 15.0) is None


def test_a_cartpole_run_is_timed_to_its_targets_and_not_run_again(tmp_path):
    out = tmp_path / "t.json"
    command = [
        sys.executable,
        "benchmarks/time_to_score.py",
        "--config",
        "configs/impala_cartpole.py",
        "--tasks",
        "CartPole-v1",
        "--seeds",
        "1",
        "--target",
        "CartPole-v1=5,1e9",  # every CartPole game lasts 8 steps or more: 5 is reached at the first 20 games
        "--window",
        "20",
        "--max-steps",
        "20000",
        "--budgets",
        "1",
        "600",
        "--set",
        "log_every=5000",
        "--out",
        str(out),
    ]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    result = json.loads(out.read_text())
    (single,) = result["runs"]
    reached, unreached = single["reached"]["5.0"], single["reached"]["1000000000.0"]
    assert unreached is None and 0 < reached["seconds"] < 600 and reached["step"] <= 20_000
    assert single["final_step"] >= 20_000  # ran to --max-steps (whole updates): one target was never reached
    # No game ends within a second of the process start; by 600 s the run has ended: its last mean.
    assert single["at_budgets"]["1.0"] is None and single["at_budgets"]["600.0"] == single["final_score"] > 0
    (easy, hard) = result["summary"]
    assert easy["reached"] == 1 and easy["median_seconds"] == reached["seconds"]
    assert hard["reached"] == 0 and hard["median_seconds"] is None
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert "1 runs already in" in again.stdout and json.loads(out.read_text())["runs"] == result["runs"]
