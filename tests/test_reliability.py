"""Checkpoints, resume after SIGKILL, SIGTERM, corrupted checkpoints, NaNs and refused workdirs."""

import itertools
import os
import pathlib
import signal
import subprocess
import time

import jax
import numpy as np
import pytest
from helpers import ROOT, actor_threads, checkpoint_steps, cli, fake_envs, tiny_config, trainer_for

from hsuanwu_jax.outputs.records import read_metrics


def test_resume_continues_counters_schedule_and_metrics(tmp_path):
    cfg = tiny_config(tmp_path, num_train_steps=1_200, checkpoint_every=400, log_every=200)
    first = trainer_for(cfg)
    first.train()
    assert checkpoint_steps(tmp_path) == [400, 800, 1200]
    params = first.state.params
    first.close()
    cfg.num_train_steps = 2_000  # extend the run: the same workdir continues
    second = trainer_for(cfg)
    assert second.env_steps == 1_200 and int(second.state.update_step) == 1_200 // 40
    np.testing.assert_array_equal(
        second.state.params["params"]["baseline"]["kernel"], params["params"]["baseline"]["kernel"]
    )
    second.train()
    assert second.env_steps == 2_000
    steps = [r["step"] for r in read_metrics(str(tmp_path / "metrics.jsonl"))]
    assert steps == sorted(set(steps)) and steps[-1] == 2_000
    assert checkpoint_steps(tmp_path) == [1200, 1600, 2000]  # the newest 3 are kept
    second.close()


def test_a_changed_network_shape_is_refused_on_resume(tmp_path):
    cfg = tiny_config(tmp_path, num_train_steps=400)
    trainer_for(cfg).train()
    cfg.mlp_hidden_sizes = (32,)
    with pytest.raises(ValueError, match=r"config field mlp_hidden_sizes=\(32,\) differs from \[16\]"):
        trainer_for(cfg)


def test_a_workdir_with_metrics_but_no_checkpoint_is_not_overwritten(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"step": 10}\n')
    with pytest.raises(ValueError, match=r"holds a metrics\.jsonl but no checkpoint"):
        trainer_for(tiny_config(tmp_path))


def test_a_corrupted_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, capsys):
    cfg = tiny_config(tmp_path, num_train_steps=800, checkpoint_every=400)
    trainer_for(cfg).train()
    assert checkpoint_steps(tmp_path) == [400, 800]
    for path in pathlib.Path(tmp_path, "checkpoints", "800").rglob("*"):
        if path.is_file():
            path.write_bytes(b"\x00garbage" * 3)
    capsys.readouterr()
    resumed = trainer_for(cfg)
    out = capsys.readouterr().out
    assert "checkpoint at step 800" in out and "unreadable" in out
    assert "resuming from the older checkpoint at step 400" in out
    assert resumed.env_steps == 400


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


def test_metrics_reader_skips_a_half_written_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "sps": 2}\n{"step": 2, "sp')
    assert read_metrics(str(path)) == [{"step": 1, "sps": 2}]
    assert os.path.exists(path)
