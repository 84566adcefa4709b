"""benchmarks/multitask_scores.py: a multi-task run's games beside single-task runs at the same per-game steps."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from hsuanwu_jax.envs.atari_scores import REFERENCE_SCORES, aggregate_human_normalised

ROOT = Path(__file__).resolve().parents[2]


def checkpoint_row(game, env_steps, greedy, sampled, task_env_steps=None):
    """A row as benchmarks/checkpoint_tests.py writes it."""
    row = {"checkpoint": f"run/checkpoints/{env_steps}", "env_id": game, "env_steps": env_steps}
    if task_env_steps is not None:
        row["task_env_steps"] = task_env_steps
    for mode, returns in (("greedy", greedy), ("sampled", sampled)):
        row[mode] = {
            "episode_reward": float(np.mean(returns)),
            "episode_reward_std": 0.0,
            "episode_rewards": returns,
        }
    return row


def write(path, payload):
    path.write_text(json.dumps(payload))
    return str(path)


def run(args):
    return subprocess.run(
        [sys.executable, "benchmarks/multitask_scores.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_each_game_meets_the_single_task_checkpoint_nearest_its_own_env_steps(tmp_path):
    rng = np.random.default_rng(0)

    def pong():
        return rng.uniform(-21, 21, 4).round().tolist()

    def breakout():
        return rng.uniform(0, 400, 4).round().tolist()

    multitask = [
        checkpoint_row("Pong-v5", 3_000_000, pong(), pong(), task_env_steps=1_040_000),
        checkpoint_row("Breakout-v5", 3_000_000, breakout(), breakout(), task_env_steps=1_960_000),
    ]
    single = [
        checkpoint_row(game, steps, make(), make())
        for game, make in (("Pong-v5", pong), ("Breakout-v5", breakout))
        for steps in (750_000, 1_000_000, 1_250_000, 2_000_000)
    ]
    out = tmp_path / "scores.json"
    args = [
        "--multitask",
        "popart=" + write(tmp_path / "mt.json", {"checkpoints": multitask}),
        "--single",
        write(tmp_path / "single.json", {"checkpoints": single}),
        "--random",
        "Pong-v5=" + write(tmp_path / "rp.json", {"mean": -20.5}),
        "Breakout-v5=" + write(tmp_path / "rb.json", {"mean": 1.5}),
        "--out",
        str(out),
    ]
    result = run(args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    payload = json.loads(out.read_text())
    rows = {row["game"]: row for row in payload["games"]}
    assert (
        rows["Pong-v5"]["single_env_steps"] == 1_000_000
        and rows["Breakout-v5"]["single_env_steps"] == 2_000_000
    )
    assert rows["Pong-v5"]["single_greedy"] == single[1]["greedy"]["episode_reward"]
    assert rows["Breakout-v5"]["random"] == 1.5
    random_pong, human_pong = REFERENCE_SCORES["Pong-v5"]
    expected = (multitask[0]["greedy"]["episode_reward"] - random_pong) / (human_pong - random_pong)
    assert abs(rows["Pong-v5"]["human_normalised"] - expected) < 1e-12
    aggregates = {row["scores"]: row for row in payload["aggregates"]}
    matched = {"Pong-v5": single[1], "Breakout-v5": single[7]}
    for source, tests in (("popart", {row["env_id"]: row for row in multitask}), ("single-task", matched)):
        reference = aggregate_human_normalised({g: t["greedy"]["episode_rewards"] for g, t in tests.items()})
        assert reference and {k: aggregates[source][k] for k in reference} == reference

    missing = run([*args[:5], "Pong-v5=" + str(tmp_path / "rp.json"), "--out", str(out)])
    assert missing.returncode != 0 and "no random play of Breakout-v5 among --random" in missing.stderr
    single_only = run([*args[:1], "popart=" + str(tmp_path / "single.json"), *args[2:]])
    assert single_only.returncode != 0 and "is not a multi-task checkpoint" in single_only.stderr
