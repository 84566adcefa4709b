"""benchmarks/stall_alarm_counts.py: each suite run's logged warnings and those its log lines give the alarm now,
counted by whether the run learned."""

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def trace(entropies, reward=0.5):
    return [
        {
            "step": 100_000 * (k + 1),
            "grad_norm": 1.0,
            "policy_kl": 1e-3,
            "entropy": e,
            "episode_reward": reward,
        }
        for k, e in enumerate(entropies)
    ]


def test_a_uniform_run_that_did_not_learn_is_warned_of_and_one_that_learned_is_not(tmp_path):
    ln7, ln2 = math.log(7), math.log(2)
    suite = {
        "config": "configs/impala_minigrid.py",
        "overrides": {},
        "tasks": {
            "MiniGrid-DoorKey-8x8-v0": {"threshold": 1.0, "random": {"mean": 0.0}},
            "CartPole-v1": {"threshold": 475.0, "random": {"mean": 22.0}},
        },
        "runs": [
            {
                "task": "MiniGrid-DoorKey-8x8-v0",
                "seed": 1,
                "num_train_steps": 1_000_000,
                "final_test_episode_reward": 0.0,
                "stall_warnings": [],
                "trace": trace([ln7] * 10, reward=0.01),
            },
            {
                "task": "CartPole-v1",
                "seed": 1,
                "num_train_steps": 1_000_000,
                "final_test_episode_reward": 500.0,
                "stall_warnings": ["no reward: made up for this test"],
                "trace": trace([ln2 * 0.999, *[ln2 * 0.5] * 9]),
            },
        ],
    }
    path, out = tmp_path / "suite.json", tmp_path / "counts.json"
    path.write_text(json.dumps(suite))
    result = subprocess.run(
        [sys.executable, "benchmarks/stall_alarm_counts.py", str(path), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    counts = json.loads(out.read_text())
    runs = {run["task"]: run for run in counts["runs"]}
    doorkey, cartpole = runs["MiniGrid-DoorKey-8x8-v0"], runs["CartPole-v1"]
    assert doorkey["outcome"] == "not learned" and doorkey["replayed"] == ["policy still uniform"]
    assert doorkey["logged"] == [] and "since env step 100,000" in doorkey["replayed_lines"][0]
    assert (
        cartpole["outcome"] == "learned"
        and cartpole["replayed"] == []
        and cartpole["logged"] == ["no reward"]
    )
    assert counts["summary"] == {
        "learned (logged)": "1 of 1 runs warned",
        "learned (replayed)": "0 of 1 runs warned",
        "not learned (logged)": "0 of 1 runs warned",
        "not learned (replayed)": "1 of 1 runs warned",
    }
