"""Checkpoints, resume after SIGKILL, SIGTERM, corrupted checkpoints, NaNs and refused workdirs."""

import itertools
import signal
import subprocess
import time

import jax
import numpy as np
import pytest
from helpers import ROOT, actor_threads, checkpoint_steps, cli, fake_envs, tiny_config, trainer_for

from hsuanwu_jax.outputs.records import read_metrics


def test_a_nan_stops_training_naming_the_step_and_keeps_the_good_checkpoint(tmp_path):
    cfg = tiny_config(tmp_path, num_train_steps=10**6, checkpoint_every=400)
    trainer = trainer_for(cfg, envs=fake_envs(cfg, nan_after=150))  # each fake env steps 5 times per rollout
    with pytest.raises(
        FloatingPointError, match=r"non-finite loss .* at update \d+ \(env step [\d,]+\)"
    ) as info:
        trainer.train()
    steps = checkpoint_steps(tmp_path)
    assert steps and f"newest checkpoint is at env step {steps[-1]:,}" in str(info.value)
    assert not actor_threads()
    resumed = trainer_for(cfg)  # the good checkpoint loads
    assert resumed.env_steps == steps[-1]
    assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(resumed.state.params))


def wait_for(predicate, timeout, process):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        assert process.poll() is None, process.communicate()[1][-3000:]
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_sigkill_after_the_second_checkpoint_then_the_same_command_resumes(tmp_path):
    command = cli(tmp_path, "--config.num_train_steps=400000", "--config.checkpoint_every=20000")
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: len(checkpoint_steps(tmp_path)) >= 2, 120, process)
    process.kill()
    process.wait()
    newest = checkpoint_steps(tmp_path)[-1]
    assert newest < 400_000
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resuming from the checkpoint at env step {newest:,}" in result.stdout
    steps = [r["step"] for r in read_metrics(str(tmp_path / "metrics.jsonl"))]
    assert steps == sorted(set(steps)), "duplicated or out-of-order steps in metrics.jsonl"
    assert steps[-1] >= 400_000 and checkpoint_steps(tmp_path)[-1] == steps[-1]
    # No gap beyond the checkpoint interval around the restart.
    assert max(b - a for a, b in itertools.pairwise(steps)) <= 20_000 + 10_240


def test_sigterm_writes_a_checkpoint_and_exits_cleanly(tmp_path):
    command = cli(tmp_path, "--config.num_train_steps=100000000", "--config.checkpoint_every=0")
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: read_metrics(str(tmp_path / "metrics.jsonl")), 120, process)
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert time.monotonic() - sent < 30
    assert process.returncode == 0, stderr[-3000:]
    assert "received SIGTERM" in stdout and "checkpoint written" in stdout
    steps = checkpoint_steps(tmp_path)
    assert len(steps) == 1 and steps[0] >= read_metrics(str(tmp_path / "metrics.jsonl"))[-1]["step"]


def test_a_run_killed_after_its_first_metrics_line_and_before_its_first_checkpoint_resumes(tmp_path):
    """With a checkpoint interval longer than the log interval, the first metrics line comes with a checkpoint:
    a workdir with metrics and no checkpoint is refused on resume, so a SIGKILL there must not leave one."""
    overrides = ["--config.log_every=10000", "--config.checkpoint_every=100000000"]
    command = cli(tmp_path, "--config.num_train_steps=100000000", *overrides)
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: read_metrics(str(tmp_path / "metrics.jsonl")), 120, process)
    process.kill()
    process.communicate(timeout=30)
    first_line = read_metrics(str(tmp_path / "metrics.jsonl"))[0]["step"]
    assert checkpoint_steps(tmp_path) and checkpoint_steps(tmp_path)[0] <= first_line
    again = subprocess.run(
        cli(tmp_path, f"--config.num_train_steps={first_line + 20000}", *overrides),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resuming from the checkpoint" in again.stdout


def test_a_run_paused_longer_than_the_actor_timeout_goes_on_when_resumed(tmp_path):
    """SIGSTOP (how a run is paused for a timing, or a suspended VM) for longer than actor_timeout_seconds:
    after SIGCONT the actors are not taken for stuck, and the run ends normally."""
    command = cli(
        tmp_path,
        "--config.num_train_steps=300000",
        "--config.actor_timeout_seconds=20",
        "--config.log_every=20000",
    )
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: read_metrics(str(tmp_path / "metrics.jsonl")), 120, process)
    process.send_signal(signal.SIGSTOP)
    time.sleep(
        25
    )  # past actor_timeout_seconds=20 (not less: the first rollout compiles, slowly on a loaded CI machine)
    process.send_signal(signal.SIGCONT)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-3000:]
    assert (
        "no progress" not in stderr and read_metrics(str(tmp_path / "metrics.jsonl"))[-1]["step"] >= 300_000
    )
