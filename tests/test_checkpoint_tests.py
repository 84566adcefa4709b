"""benchmarks/checkpoint_tests.py: each checkpoint of a run played again, greedy and sampled."""

import json
import subprocess
import sys

from helpers import ROOT, tiny_config

from hsuanwu_jax import DistributedTrainer


def test_each_checkpoint_is_played_greedy_and_sampled_from_its_own_params(tmp_path):
    trainer = DistributedTrainer(cfgs=tiny_config(tmp_path / "run", checkpoint_every=1_000, progress="none"))
    trainer.train()
    final_greedy = trainer.test()["episode_rewards"]
    trainer.close()
    out = tmp_path / "tests.json"
    checkpoints = [str(tmp_path / "run" / "checkpoints" / str(step)) for step in (1_000, 2_000)]
    command = [
        sys.executable,
        "benchmarks/checkpoint_tests.py",
        *checkpoints,
        "--episodes",
        "3",
        "--out",
        str(out),
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = json.loads(out.read_text())["checkpoints"]
    assert [row["env_steps"] for row in rows] == [1_000, 2_000]
    for row in rows:
        assert row["env_id"] == "CartPole-v1"
        for mode in ("greedy", "sampled"):
            assert len(row[mode]["episode_rewards"]) == 3 and all(
                r >= 8 for r in row[mode]["episode_rewards"]
            )
    assert rows[1]["greedy"]["episode_rewards"] == final_greedy  # the last checkpoint's params, played again

    wrong = subprocess.run(
        [sys.executable, "benchmarks/checkpoint_tests.py", str(tmp_path / "run"), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert (
        wrong.returncode != 0 and "expected a checkpoint directory RUN_DIR/checkpoints/STEP" in wrong.stderr
    )
