"""What Hsuanwu's users rely on when a run trains: the export when train() ends, global_step, its CSV logs
(cut back on resume), a quiet console, its script under hydra and the shipped Pong script."""

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest
from fakes import CountingEnv
from helpers import PONG, ROOT, cli, read_csv, tiny_config

from hsuanwu_jax import DistributedTrainer, load_policy, make_env, validate
from hsuanwu_jax.outputs.hsuanwu_logs import HsuanwuLogs


def test_train_writes_the_export_and_returns_plain_numbers(tmp_path):
    cfg = tiny_config(tmp_path, env_id="CartPole-v1")
    trainer = DistributedTrainer(cfg, train_env=make_env(cfg), test_env=make_env(cfg, test=True))
    try:
        record = trainer.train()
        result = trainer.test()
    finally:
        trainer.close()
    assert trainer.export_path == str(tmp_path / "export") and os.path.isdir(trainer.export_path)
    policy = load_policy(trainer.export_path)
    assert policy.spec.obs_shape == (4,)
    for values in (record, result):
        assert all(type(v) in (int, float, str, list, type(None)) for v in values.values()), values
    assert trainer.global_step == trainer.env_steps == record["step"] >= cfg.num_train_steps
    assert trainer.global_episode >= record["total_episodes"] > 0  # actors may finish more after the last log


def test_hsuanwu_logs_have_its_columns_and_are_cut_back_on_resume(tmp_path):
    logs = HsuanwuLogs(str(tmp_path))
    base = {"total_episodes": 3, "episode_length": 20.0, "episode_reward": 1.5, "sps": 100.0, "time": 2.0}
    logs.write({"step": 100, **base})
    logs.write({"step": 200, **base, "episode_reward": None})  # no episode ended: no train row
    logs.write({"step": 300, **base, "test_episode_reward": 9.0, "test_episode_length": 50.0})
    train_rows = read_csv(tmp_path / "train.log")
    test_rows = read_csv(tmp_path / "test.log")
    assert list(train_rows[0]) == ["episode", "episode_length", "episode_reward", "fps", "step", "total_time"]
    assert [r["step"] for r in train_rows] == ["100", "300"]
    assert test_rows == [
        {
            "episode": "3",
            "episode_length": "50.0",
            "episode_reward": "9.0",
            "step": "300",
            "total_time": "2.0",
        }
    ]
    HsuanwuLogs.truncate(str(tmp_path), last_step=200)
    assert [r["step"] for r in read_csv(tmp_path / "train.log")] == ["100"]
    assert (read_csv(tmp_path / "test.log")) == []


def test_a_checkpoint_of_another_env_is_refused_naming_what_differs(tmp_path):
    cfg = tiny_config(tmp_path, num_train_steps=200, env_id="CartPole-v1")
    trainer = DistributedTrainer(cfg, train_env=make_env(cfg), test_env=make_env(cfg, test=True))
    try:
        trainer.train()
    finally:
        trainer.close()
    other = [CountingEnv([5, 6, 7, 8]) for _ in range(2)]  # obs (3,), 2 actions; config still says CartPole
    with pytest.raises(
        ValueError,
        match=r"written for an env with other spaces \(obs_shape: checkpoint \(4,\), train_env \(3,\)",
    ):
        DistributedTrainer(cfg, train_env=other, test_env=CountingEnv([3]))
    acrobot = tiny_config(tmp_path, env_id="Acrobot-v1")  # another EnvPool task, in Hsuanwu's form too
    tree = {"device": "cpu", "workdir": str(tmp_path), "num_actors": 2, "num_steps": 5}
    for config in (acrobot, tree):
        with pytest.raises(
            ValueError,
            match=r"obs_shape: checkpoint \(4,\), train_env \(6,\); action_size: checkpoint 2, train_env 3",
        ):
            DistributedTrainer(config, train_env=make_env(acrobot), test_env=make_env(acrobot, test=True))


def test_the_command_line_console_has_no_library_info_lines(tmp_path):
    info_line = re.compile(r"^[IWEF]\d{4} |^INFO|orbax", re.MULTILINE)
    quiet = subprocess.run(
        cli(tmp_path / "quiet", "--config.num_train_steps=2000"), capture_output=True, text=True
    )
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    console = quiet.stdout + quiet.stderr
    assert quiet.stdout.splitlines()[0] == f"run directory: {tmp_path / 'quiet'}"
    assert not info_line.findall(console), console[:2000]
    verbose = subprocess.run(
        cli(tmp_path / "verbose", "--config.num_train_steps=2000", "--config.verbosity=info"),
        capture_output=True,
        text=True,
    )
    assert verbose.returncode == 0 and len(info_line.findall(verbose.stdout + verbose.stderr)) > 5


HYDRA_SCRIPT = """
import hydra

from hsuanwu_jax.common.engine import DistributedTrainer
from hsuanwu_jax.env import make_atari_env

train_env = make_atari_env(env_id="PongNoFrameskip-v4", num_envs=4, seed=1, frame_stack=4, distributed=True)
test_env = make_atari_env(env_id="PongNoFrameskip-v4", num_envs=1, seed=2, frame_stack=4, distributed=True)


@hydra.main(version_base=None, config_path="./", config_name="config")
def main(cfgs):
    trainer = DistributedTrainer(cfgs=cfgs, train_env=train_env, test_env=test_env)
    trainer.train()
    print("TEST", trainer.test())
    print("SAVED", trainer.save())


if __name__ == "__main__":
    main()
"""

HYDRA_CONFIG = """
experiment: hydra_pong
device: cuda:0
seed: 1
num_train_steps: 80
num_actors: 2
num_learners: 4
num_steps: 5
test_every_episodes: 10
num_test_episodes: 1
pretraining: false
init_model_path: null
encoder:
  name: MnihCnnEncoder
  feature_dim: 512
agent:
  name: IMPALA
  lr: 0.0004
  eps: 0.01
  use_lstm: false
  ent_coef: 0.01
  baseline_coef: 0.5
  max_grad_norm: 40
  discount: 0.99
storage:
  name: DistributedStorage
  num_storages: 60
  batch_size: 4
test_max_episode_steps: 200
"""


def test_a_hsuanwu_script_runs_under_hydra_with_the_package_name_swapped(tmp_path):
    (tmp_path / "train.py").write_text(textwrap.dedent(HYDRA_SCRIPT))
    (tmp_path / "config.yaml").write_text(textwrap.dedent(HYDRA_CONFIG))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [
        subprocess.run([sys.executable, "train.py"], cwd=tmp_path, capture_output=True, text=True, env=env)
        for _ in range(2)
    ]
    directories = []
    for run in runs:
        assert run.returncode == 0, run.stderr[-3000:]
        lines = run.stdout.splitlines()
        assert lines[0].startswith("run directory: runs/hydra_pong/"), lines[:3]
        assert any(line.startswith("hsuanwu config: num_learners ignored") for line in lines)
        assert not re.search(r"^[IW]\d{4} |orbax", run.stdout + run.stderr, re.MULTILINE)
        directories.append(tmp_path / lines[0].removeprefix("run directory: "))
    assert directories[0] != directories[1]  # the second run is a new run, not a resume of the first
    for directory in directories:
        policy = load_policy(str(directory / "export"))
        assert policy.spec.obs_shape == (4, 84, 84) and policy.spec.action_size == 6
        config = json.loads((directory / "config.json").read_text())
        assert (config["env_id"], config["encoder"], config["num_envs"], config["batch_size"]) == (
            "Pong-v5",
            "nature_cnn",
            2,
            4,
        )
        assert (directory / "metrics.jsonl").exists()


def test_a_hsuanwu_form_run_writes_hsuanwus_csv_logs(tmp_path):
    tree = {
        "device": "cpu",
        "num_actors": 2,
        "num_steps": 5,
        "num_train_steps": 400,
        "encoder": {"name": "IdentityEncoder"},
        "storage": {"name": "DistributedStorage", "batch_size": 8},
        "workdir": str(tmp_path),
        "log_every": 100,
        "test_every": 200,
        "num_test_episodes": 2,
    }
    trainer = DistributedTrainer(
        tree, train_env=[CountingEnv([3, 4, 5, 6]) for _ in range(2)], test_env=CountingEnv([3])
    )
    try:
        trainer.train()
    finally:
        trainer.close()
    train_rows = read_csv(tmp_path / "train.log")
    test_rows = read_csv(tmp_path / "test.log")
    metrics = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [int(r["step"]) for r in train_rows] == [
        m["step"] for m in metrics if m["episode_reward"] is not None
    ]
    assert [int(r["step"]) for r in test_rows] == [m["step"] for m in metrics if "test_episode_reward" in m]
    assert len(test_rows) == 2 and float(test_rows[0]["episode_reward"]) == metrics[1]["test_episode_reward"]


def test_the_shipped_hsuanwu_pong_script_runs(tmp_path):
    overrides = [
        "num_train_steps=160",
        "num_test_episodes=1",
        "test_every=0",
        "+test_max_episode_steps=200",
        f"+workdir={tmp_path / 'run'}",
        f"hydra.run.dir={tmp_path / 'hydra'}",
    ]
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/hsuanwu_pong/train.py"), *overrides],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.splitlines()[0] == f"run directory: {tmp_path / 'run'}"
    assert load_policy(str(tmp_path / "run/export")).spec.obs_shape == (4, 84, 84)


def test_a_hsuanwu_yaml_file_is_a_config(tmp_path):
    (tmp_path / "config.yaml").write_text(textwrap.dedent(HYDRA_CONFIG))
    s = validate(str(tmp_path / "config.yaml"), env=PONG)
    assert s.hsuanwu_form and (s.experiment, s.encoder, s.num_steps, s.init_model_path) == (
        "hydra_pong",
        "nature_cnn",
        5,
        "",
    )
