"""benchmarks/checkpoint_tests.py: each checkpoint of a run played again, greedy and sampled."""

import json
import subprocess
import sys

from helpers import ROOT, tiny_config

from hsuanwu_jax import DistributedTrainer


def checkpoint_tests(*args) -> subprocess.CompletedProcess:
    """benchmarks/checkpoint_tests.py run with `args`, as a user runs it."""
    command = [sys.executable, "benchmarks/checkpoint_tests.py", *map(str, args)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def played_rows(*args) -> list[dict]:
    """The rows `checkpoint_tests.py *args --episodes 3 --out FILE` writes, once it has succeeded."""
    out = args[-1]
    result = checkpoint_tests(*args[:-1], "--episodes", 3, "--out", out)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(out.read_text())["checkpoints"]


def test_each_checkpoint_is_played_greedy_and_sampled_from_its_own_params(tmp_path):
    trainer = DistributedTrainer(cfgs=tiny_config(tmp_path / "run", checkpoint_every=1_000, progress="none"))
    trainer.train()
    final_greedy = trainer.test()["episode_rewards"]
    trainer.close()
    out = tmp_path / "tests.json"
    rows = played_rows(*[tmp_path / "run" / "checkpoints" / str(step) for step in (1_000, 2_000)], out)
    assert [row["env_steps"] for row in rows] == [1_000, 2_000]
    for row in rows:
        assert row["env_id"] == "CartPole-v1"
        for mode in ("greedy", "sampled"):
            assert len(row[mode]["episode_rewards"]) == 3 and all(
                r >= 8 for r in row[mode]["episode_rewards"]
            )
    assert rows[1]["greedy"]["episode_rewards"] == final_greedy  # the last checkpoint's params, played again

    wrong = checkpoint_tests(tmp_path / "run", "--out", out)
    assert (
        wrong.returncode != 0 and "expected a checkpoint directory RUN_DIR/checkpoints/STEP" in wrong.stderr
    )


def test_a_multi_task_checkpoint_gives_each_task_its_row_and_its_own_env_steps(tmp_path):
    tasks = ("CartPole-v0", "CartPole-v1")
    trainer = DistributedTrainer(
        cfgs=tiny_config(
            tmp_path / "run", tasks=tasks, popart=True, log_every=200, checkpoint_every=1_000, progress="none"
        )
    )
    trainer.train()
    final = trainer.test()["tasks"]
    trainer.close()
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    rows = played_rows(tmp_path / "run" / "checkpoints" / "2000", tmp_path / "tests.json")
    assert [row["env_id"] for row in rows] == list(tasks)
    for row in rows:  # each task's part: its shares of the logged intervals, by hand
        previous, expected = 0, 0.0
        for record in records:
            expected += record[f"env_steps_share/{row['env_id']}"] * (record["step"] - previous)
            previous = record["step"]
        assert row["env_steps"] == 2_000 and abs(row["task_env_steps"] - expected * 2_000 / previous) <= 1
        assert row["greedy"]["episode_rewards"] == final[row["env_id"]]["episode_rewards"]
        assert len(row["sampled"]["episode_rewards"]) == 3
    assert sum(row["task_env_steps"] for row in rows) in (1_999, 2_000, 2_001)
    assert 0 < rows[0]["task_env_steps"] < 2_000
