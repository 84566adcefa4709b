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
    assert {
        "impala_cartpole",
        "impala_classic_control",
        "impala_atari",
        "atari_machado",
        "impala_mujoco",
        "impala_atari_multitask",
        "impala_procgen",
        "impala_minigrid",
        "seed_defaults",
    } <= set(PRESETS)


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_trains_and_tests_for_a_few_updates(tmp_path, name):
    cfg = load_config(name)
    # The preset's envs, network and learner as shipped; only the sizes that make it quick are changed.
    tasks = len(cfg.tasks) or 1
    cfg.update(
        num_envs=4,
        batch_size=4 * max(tasks, 2),  # a rollout of each task's actor per update in a multi-task preset
        num_train_steps=2 * 4 * max(tasks, 2) * cfg.num_steps,
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
    assert np.isfinite(record["loss"]) and result["num_episodes"] == 2 * tasks
    assert result["policy"] == cfg.test_policy
    assert ("train_envs" in result) == cfg.test_train_envs  # Procgen's training levels beside the others


def test_procgen_tests_on_every_level_and_on_the_training_levels():
    from hsuanwu_jax import make_env

    cfg = load_config("impala_procgen")
    cfg.num_test_episodes = 2
    train, unseen, like_training = (
        make_env(cfg)[0],
        make_env(cfg, test=True),
        make_env(cfg, test=True, like_training=True),
    )
    try:
        levels = [
            (env.config["num_levels"], env.config["start_level"]) for env in (train, unseen, like_training)
        ]
        assert levels == [(200, 0), (0, 0), (200, 0)]
        assert unseen.config["seed"] == like_training.config["seed"] != train.config["seed"]
    finally:
        for env in (train, unseen, like_training):
            env.close()


@pytest.mark.slow
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


def test_the_task_suite_runs_and_aggregates(tmp_path):
    """benchmarks/suite.py --quick: two tasks (discrete and continuous) x two seeds of the classic-control
    preset, scores normalised against random play and the solved threshold, the IQM inside its CI, a plot;
    and a rerun with the same --out runs nothing again."""
    out, plot = tmp_path / "suite.json", tmp_path / "suite.png"
    command = [
        sys.executable,
        "benchmarks/suite.py",
        "--config",
        "configs/impala_classic_control.py",
        "--tasks",
        "CartPole-v1",
        "Pendulum-v1",
        "--seeds",
        "1",
        "2",
        "--threshold",
        "Pendulum-v1=-250",
        "--random-episodes",
        "4",
        "--quick",
        "--out",
        str(out),
        "--plot",
        str(plot),
    ]
    first = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["tasks"]["CartPole-v1"]["threshold"] == 475.0  # EnvPool's reward_threshold
    assert report["tasks"]["Pendulum-v1"]["threshold"] == -250.0  # --threshold
    assert len(report["tasks"]["Pendulum-v1"]["random"]["returns"]) == 4
    finals = {(r["task"], r["seed"]): r["final_test_episode_reward"] for r in report["runs"]}
    for run in report[
        "runs"
    ]:  # the sampled policy's test beside the greedy one, and the collapse alarm's word
        assert np.isfinite(run["final_sampled_test_episode_reward"]) and "collapse_warning" in run
    assert set(finals) == {(t, s) for t in ("CartPole-v1", "Pendulum-v1") for s in (1, 2)}
    for column, (task, info) in enumerate(report["tasks"].items()):
        for row, seed in enumerate((1, 2)):
            expected = (finals[task, seed] - info["random"]["mean"]) / (
                info["threshold"] - info["random"]["mean"]
            )
            assert report["normalised_scores"][row][column] == pytest.approx(expected)
    summary = report["aggregate"]
    assert summary["ci_low"] <= summary["iqm"] <= summary["ci_high"]
    assert "IQM normalised score over 4 runs" in first.stdout and plot.stat().st_size > 10_000
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "4 runs already in" in again.stdout
    assert json.loads(out.read_text())["runs"] == report["runs"]


def test_the_mujoco_suite_runs_on_gymnasium_and_dmc_tasks(tmp_path):
    """benchmarks/suite.py --quick with the MuJoCo preset: a gymnasium task and a DeepMind Control one (Dict
    observations), each scored against its random play and the reference given by --threshold."""
    out = tmp_path / "suite.json"
    command = [
        sys.executable,
        "benchmarks/suite.py",
        "--config",
        "configs/impala_mujoco.py",
        "--tasks",
        "Hopper-v4",
        "CheetahRun-v1",
        "--seeds",
        "1",
        "--threshold",
        "Hopper-v4=2410",
        "CheetahRun-v1=500",
        "--random-episodes",
        "2",
        "--quick",
        "--set",
        "num_minibatches=2",
        "--set",  # a second --set adds to the first
        "mlp_hidden_sizes=(32,)",
        "--out",
        str(out),
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["overrides"] == {"num_minibatches": 2, "mlp_hidden_sizes": [32]}
    trace = report["runs"][0]["trace"]  # every log line's learning signals, kept after the workdir is gone
    assert trace and {"step", "entropy", "policy_kl", "grad_norm", "value_std"} <= set(trace[-1])
    assert {r["task"] for r in report["runs"]} == {"Hopper-v4", "CheetahRun-v1"}
    assert all(np.isfinite(r["final_test_episode_reward"]) for r in report["runs"])
    assert report["tasks"]["CheetahRun-v1"]["threshold"] == 500.0
    assert np.isfinite(np.asarray(report["normalised_scores"], float)).all()


def test_the_collapse_probe_measures_the_first_updates(tmp_path):
    """benchmarks/collapse_probe.py for a few updates: one row per probed update, and with a separate value
    network no gradient of the baseline reaches the policy's torso while the policy gradient's does."""
    out = tmp_path / "probe.json"
    command = [sys.executable, "benchmarks/collapse_probe.py", "--config", "impala_classic_control"]
    command += ["--tasks", "CartPole-v1", "--value-networks", "separate", "shared", "--updates", "2"]
    command += ["--every", "1", "--out", str(out)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    separate, shared = json.loads(out.read_text())["runs"]
    assert [row["update"] for row in separate["rows"]] == [0, 1, 2]
    assert all(
        row["torso_grad_baseline_loss"] == 0 and row["torso_grad_pg_loss"] > 0 for row in separate["rows"]
    )
    assert all(row["torso_grad_baseline_loss"] > 0 for row in shared["rows"])
