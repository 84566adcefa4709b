"""Every preset in configs/ as shipped (with a small batch and run length) trains a few updates and tests;
and the chaos check of preemptible runs, with 5 random SIGKILLs."""

import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT

from hsuanwu_jax import DistributedTrainer, load_config

PRESETS = sorted(p.stem for p in (ROOT / "configs").glob("*.py") if p.stem != "__init__")


def test_the_presets_are_all_here():
    assert {"impala_cartpole", "impala_atari", "atari_machado", "impala_mujoco"} <= set(PRESETS)


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_trains_and_tests_for_a_few_updates(tmp_path, name):
    cfg = load_config(name)
    # The preset's envs, network and learner as shipped; only the sizes that make it quick are changed.
    cfg.update(
        num_envs=4,
        batch_size=8,
        num_train_steps=2 * 8 * cfg.num_steps,
        num_test_episodes=2,
        test_max_episode_steps=200,
        test_every=0,
        log_every=1,
        progress="none",
        workdir=str(tmp_path),
    )
    trainer = DistributedTrainer(cfg)
    try:
        record = trainer.train()
        result = trainer.test()
    finally:
        trainer.close()
    assert trainer.env_steps == cfg.num_train_steps and record["updates"] == 2
    assert np.isfinite(record["loss"]) and result["num_episodes"] == 2


def test_chaos_five_random_kills_lose_and_repeat_nothing(tmp_path):
    out = tmp_path / "chaos.json"
    command = [sys.executable, "benchmarks/chaos.py", "--kills", "5", "--steps", "300000", "--max-delay", "8"]
    result = subprocess.run(
        [*command, "--seed", "1", "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["ok"] and report["duplicated_steps"] == report["missing_intervals"] == 0
    assert report["final_step"] >= 100_000 and report["export_loads"]
    assert not any(r["crashed"] for r in report["rounds"])
