"""Coming from Hsuanwu: its import paths, its config tree, its env factories, its script under hydra, and
the behaviour its users rely on (export when train() ends, global_step, CSV logs, a run per folder)."""

import csv
import json
import os
import re
import subprocess
import sys
import textwrap

import envpool
import gymnasium
import numpy as np
import pytest
from fakes import CountingEnv
from helpers import ROOT, cli, tiny_config

import hsuanwu_jax
from hsuanwu_jax import DistributedTrainer, load_policy, make_env, validate
from hsuanwu_jax.core.spec import EnvFacts
from hsuanwu_jax.envs.making import make_envpool
from hsuanwu_jax.envs.registry import env_facts
from hsuanwu_jax.envs.splitting import split_env
from hsuanwu_jax.outputs.hsuanwu_logs import HsuanwuLogs

# Hsuanwu's IMPALA tree, every key it uses (impala.yaml and base_policy_trainer._MANDATORY_CFGS).
HSUANWU_TREE = {
    "experiment": "impala_pong",
    "device": "cuda:0",
    "seed": 7,
    "num_train_steps": 30_000,
    "num_actors": 2,
    "num_learners": 4,
    "num_steps": 10,
    "test_every_episodes": 10,
    "test_every_steps": 5000,
    "num_test_episodes": 3,
    "pretraining": False,
    "init_model_path": None,
    "num_init_steps": 2000,
    "encoder": {"name": "MnihCnnEncoder", "feature_dim": 512},
    "agent": {
        "name": "IMPALA",
        "lr": 6e-4,
        "eps": 0.02,
        "use_lstm": True,
        "ent_coef": 0.003,
        "baseline_coef": 0.25,
        "max_grad_norm": 10.0,
        "discount": 0.98,
        "network_init_method": "orthogonal",
    },
    "storage": {"name": "DistributedStorage", "num_storages": 60, "batch_size": 8},
    "distribution": {"name": "Categorical"},
    "augmentation": {"name": None},
    "reward": {"name": None},
}
PONG = EnvFacts(total_envs=16, env_id="Pong-v5", env_kwargs={"episodic_life": True}, obs_rank=3)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def with_keys(tree, **changes):
    """`tree` with top-level keys or "section.key" entries replaced."""
    tree = json.loads(json.dumps(tree))
    for path, value in changes.items():
        section, _, key = path.partition("__")
        if key:
            tree[section][key] = value
        else:
            tree[section] = value
    return tree


def test_every_hsuanwu_key_translates_to_its_field():
    s = validate(HSUANWU_TREE, env=PONG)
    assert s.hsuanwu_form
    expected = {
        "experiment": "impala_pong",
        "seed": 7,
        "num_train_steps": 30_000,
        "num_actors": 2,
        "num_steps": 10,
        "num_test_episodes": 3,
        "init_model_path": "",
        "encoder": "nature_cnn",
        "lr": 6e-4,
        "eps": 0.02,
        "use_lstm": True,
        "ent_coef": 0.003,
        "baseline_coef": 0.25,
        "max_grad_norm": 10.0,
        "discount": 0.98,
        "weight_init": "orthogonal",
        "env_id": "Pong-v5",  # from the train env, as Hsuanwu read the env
        "env_kwargs": {"episodic_life": True},
        "num_envs": 8,  # 16 envs over 2 actors
        "batch_size": 8,  # 8 one-env rollouts: one actor rollout of 8 envs, the same samples
    }
    assert {name: getattr(s, name) for name in expected} == expected
    ignored = ("device", "num_learners", "storage.num_storages", "test_every_episodes", "test_every_steps")
    for key in (*ignored, "num_init_steps"):
        assert sum(note.startswith(key) for note in s.config_notes) == 1, (key, s.config_notes)
    assert len(s.config_notes) == 6  # nothing else printed: the exact-fit batch size needs no note


def test_keys_left_out_take_hsuanwus_impala_defaults():
    s = validate({"agent": {"name": "IMPALA"}}, env=PONG)
    assert (s.num_steps, s.num_test_episodes, s.num_train_steps, s.encoder) == (
        80,
        10,
        30_000_000,
        "nature_cnn",
    )
    assert s.num_actors == 2 and s.num_envs == 8 and s.batch_size == 8  # 4 rollouts -> one of 8 envs
    assert any(note.startswith("num_actors not given") for note in s.config_notes)
    cartpole = EnvFacts(total_envs=4, env_id="CartPole-v1", env_kwargs={}, obs_rank=1)
    s = validate({"agent": {"name": "IMPALA"}, "num_actors": 2}, env=cartpole)
    assert (s.encoder, s.mlp_hidden_sizes, s.batch_size) == ("mlp", (), 4)  # IdentityEncoder; 2 x 2 envs


def test_hsuanwu_batch_size_becomes_whole_actor_rollouts_with_a_note():
    s = validate(with_keys(HSUANWU_TREE, storage__batch_size=4), env=PONG)
    assert s.batch_size == 8  # 4 one-env rollouts round up to one rollout of 8 envs
    assert any("storage.batch_size=4 became batch_size=8" in note for note in s.config_notes)
    s = validate(with_keys(HSUANWU_TREE, storage__batch_size=20), env=PONG)
    assert s.batch_size == 16  # nearest multiple of 8


@pytest.mark.parametrize(
    ("name", "encoder", "sizes"),
    [
        ("EspeholtResidualEncoder", "resnet", None),
        ("IdentityEncoder", "mlp", ()),
        ("VanillaMlpEncoder", "mlp", (32, 16)),
    ],
)
def test_hsuanwu_encoders(name, encoder, sizes):
    section = {"name": name}
    if name == "VanillaMlpEncoder":
        section.update(feature_dim=16, hidden_dim=32)
    s = validate(with_keys(HSUANWU_TREE, encoder=section), env=PONG)
    assert s.encoder == encoder
    if sizes is not None:
        assert s.mlp_hidden_sizes == sizes


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"agent__name": "PPO"}, r"agent.name='PPO' is not available: hsuanwu_jax implements IMPALA"),
        ({"encoder": {"name": "TassaCnnEncoder"}}, r"encoder.name='TassaCnnEncoder' has no counterpart"),
        ({"encoder__feature_dim": 256}, r"encoder.feature_dim=256 is not available for MnihCnnEncoder"),
        ({"augmentation": {"name": "RandomShift"}}, r"augmentation.name='RandomShift' \(an observation"),
        ({"reward": {"name": "RE3"}}, r"reward.name='RE3' \(an intrinsic reward\) has no counterpart"),
        ({"pretraining": True}, r"'pretraining: true' needs an intrinsic reward"),
        ({"storage__name": "VanillaRolloutStorage"}, r"storage.name='VanillaRolloutStorage' does not fit"),
        ({"distribution": {"name": "Bernoulli"}}, r"distribution.name='Bernoulli' has no counterpart"),
        ({"agent__network_init_method": "xavier_uniform"}, r"network_init_method='xavier_uniform'.*accepted"),
        ({"agent__momentum": 0.9}, r"agent.momentum has no counterpart in hsuanwu_jax; agent takes"),
        ({"num_workers": 3}, r"Hsuanwu config key 'num_workers' has no counterpart"),
        ({"storage__batch_size": 0}, r"storage.batch_size=0 must be an integer >= 1"),
    ],
)
def test_hsuanwu_keys_without_a_counterpart_are_refused_by_name(changes, message):
    with pytest.raises(ValueError, match=message):
        validate(with_keys(HSUANWU_TREE, **changes), env=PONG)


def test_hsuanwu_pytorch_model_paths_are_refused(tmp_path):
    (tmp_path / "actor.pth").write_bytes(b"\x80")
    with pytest.raises(ValueError, match=r"init_model_path=.* holds PyTorch model files"):
        validate(with_keys(HSUANWU_TREE, init_model_path=str(tmp_path)), env=PONG)


def test_our_flat_config_is_not_translated():
    s = validate(hsuanwu_jax.default_config())
    assert not s.hsuanwu_form and s.config_notes == ()


def test_the_train_envs_task_fills_or_must_match_env_id():
    facts = EnvFacts(total_envs=8, env_id="Acrobot-v1", env_kwargs={})
    assert validate({"num_envs": 4}, env=facts).env_id == "Acrobot-v1"
    with pytest.raises(ValueError, match=r"env_id='CartPole-v1' differs from train_env's task 'Acrobot-v1'"):
        validate({"env_id": "CartPole-v1"}, env=facts)


def test_tasks_envpool_makes_identically_are_the_same_task():
    """EnvPool registers HalfCheetah-v3 and -v4 with the same spec and arguments: an env made as either
    reads back as both, and a config naming either is accepted with it (the config's name is kept)."""
    env = make_envpool("HalfCheetah-v4", num_envs=2, num_threads=1, seed=0, kwargs={})
    try:
        facts = env_facts(env)
    finally:
        env.close()
    assert {"HalfCheetah-v3", "HalfCheetah-v4"} <= {facts.env_id, *facts.same_tasks}
    assert validate({"env_id": "HalfCheetah-v4", "num_envs": 2}, env=facts).env_id == "HalfCheetah-v4"
    with pytest.raises(ValueError, match=r"env_id='Hopper-v4' differs from train_env's task"):
        validate({"env_id": "Hopper-v4", "num_envs": 2}, env=facts)


def test_hsuanwu_import_paths_are_aliases():
    from hsuanwu_jax.common.engine import DistributedTrainer as EngineTrainer
    from hsuanwu_jax.common.engine import HsuanwuEngine
    from hsuanwu_jax.env import make_atari_env

    assert EngineTrainer is DistributedTrainer
    assert callable(make_atari_env)
    with pytest.raises(ValueError, match="implements IMPALA"):
        HsuanwuEngine(with_keys(HSUANWU_TREE, agent__name="DrQv2"), train_env=CountingEnv([3, 4]))


def test_make_atari_env_keeps_hsuanwus_protocol_for_old_and_new_ids():
    from hsuanwu_jax.env import make_atari_env

    old = make_atari_env("PongNoFrameskip-v4", num_envs=2, seed=3)
    new = make_atari_env("ALE/Pong-v5", num_envs=2, seed=3, frame_stack=3)
    try:
        assert old.observation_space.shape == (4, 84, 84) and new.observation_space.shape == (3, 84, 84)
        for env, skip, sticky, cap in ((old, 4, 0.0, 100_000), (new, 3, 0.25, 36_000)):
            config = env.config
            assert (config["frame_skip"], config["stack_num"]) == (skip, skip)
            assert config["repeat_action_probability"] == sticky and config["max_episode_steps"] == cap
            assert config["episodic_life"] and config["reward_clip"] and config["noop_max"] == 30
            assert config["seed"] == 3
    finally:
        old.close()
        new.close()
    with pytest.raises(ValueError, match=r"'<Game>NoFrameskip-v4' or '<Game>-v5'"):
        make_atari_env("PongDeterministic-v4")
    with pytest.raises(ValueError, match="not an EnvPool task"):
        make_atari_env("NoSuchGameNoFrameskip-v4")


def test_make_dmc_env_flattens_frame_by_frame_as_hsuanwu_stacked_them():
    from hsuanwu_jax.env import make_dmc_env

    with pytest.raises(ValueError, match="state observations only; pass from_pixels=False"):
        make_dmc_env("cheetah_run")
    env = make_dmc_env("cheetah_run", num_envs=2, from_pixels=False, frame_stack=3, frame_skip=2, seed=5)
    raw = envpool.make("CheetahRun-v1", env_type="gymnasium", num_envs=2, seed=5, frame_stack=3, frame_skip=2)
    try:
        obs, _ = env.reset()
        position, velocity = (
            x.astype(np.float32) for x in raw.reset()[0].values()
        )  # Hsuanwu cast to float32
        assert obs.shape == (2, 3 * (8 + 9)) and obs.dtype == np.float32
        for frame in range(3):  # Hsuanwu: [frame 0 (position, velocity), frame 1 (...), frame 2 (...)]
            np.testing.assert_array_equal(obs[:, frame * 17 : frame * 17 + 8], position[:, frame])
            np.testing.assert_array_equal(obs[:, frame * 17 + 8 : (frame + 1) * 17], velocity[:, frame])
        assert env.config["max_episode_steps"] == 500  # 1000 simulator steps at frame_skip 2
    finally:
        env.close()
        raw.close()


def test_make_minigrid_env_encodes_view_and_mission_like_flatobswrapper():
    from hsuanwu_jax.env import make_minigrid_env
    from hsuanwu_jax.envs.dict_obs import encode_text

    with pytest.raises(ValueError, match="pass fully_observable=False"):
        make_minigrid_env("MiniGrid-DoorKey-5x5-v0")
    missions = np.zeros((1, 96), np.uint8)
    missions[0, :6] = np.frombuffer(b"Go, to", np.uint8)
    codes = encode_text(missions).reshape(96, 28)
    assert [int(np.flatnonzero(row)[0]) for row in codes[:6]] == [6, 14, 27, 26, 19, 14]  # g o , _ t o
    assert not codes[6:].any()
    env = make_minigrid_env("MiniGrid-DoorKey-5x5-v0", num_envs=2, fully_observable=False, seed=0)
    try:
        obs, _ = env.reset()
        assert obs.shape == (2, 7 * 7 * 3 + 96 * 28)
        assert obs[:, 147:].sum() == 2 * len("use the key to open the door and then get to the goal")
    finally:
        env.close()


def test_suites_envpool_lacks_are_refused_by_name():
    from hsuanwu_jax.env import make_bullet_env, make_multibinary_env, make_procgen_env

    with pytest.raises(ValueError, match="EnvPool has no PyBullet suite"):
        make_bullet_env()
    with pytest.raises(ValueError, match="MultiBinary action spaces are not supported"):
        make_multibinary_env()
    with pytest.raises(ValueError, match=r"distribution_mode='memory'.*EnvPool has \['easy', 'hard'\]"):
        make_procgen_env(distribution_mode="memory")


def test_one_env_is_split_over_the_actors_with_the_same_per_env_seeds():
    whole = envpool.make("CartPole-v1", env_type="gymnasium", num_envs=4, seed=11)
    expected = whole.reset()[0]
    split = split_env(envpool.make("CartPole-v1", env_type="gymnasium", num_envs=4, seed=11), 2, 1)
    try:
        np.testing.assert_array_equal(np.concatenate([env.reset()[0] for env in split]), expected)
        groups = split_env(gymnasium.vector.SyncVectorEnv([lambda: gymnasium.make("CartPole-v1")] * 4), 2, 1)
        assert [g.num_envs for g in groups] == [2, 2]
        with pytest.raises(ValueError, match="4 envs, which num_actors=3 actor threads cannot share evenly"):
            split_env(whole, 3, 1)
    finally:
        whole.close()
        for env in split:
            env.close()


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


def test_the_migration_guide_lists_every_hsuanwu_key():
    guide = (ROOT / "docs" / "guides" / "hsuanwu.md").read_text()
    table = guide[guide.index("| Hsuanwu key |") : guide.index("Env factories")]
    keys = [key for key, value in HSUANWU_TREE.items() if not isinstance(value, dict)]
    keys += [
        f"{name}.{key}" for name, value in HSUANWU_TREE.items() if isinstance(value, dict) for key in value
    ]
    for key in keys:  # a section's later keys are listed after its first: `agent.lr`, `eps`, ...
        assert f"`{key}`" in table or f"`{key.rpartition('.')[2]}`" in table, key


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
