"""Hsuanwu's config tree and YAML files: every key it uses translated to its field (or refused by name), its
IMPALA defaults, and the migration guide's table of keys (config/hsuanwu_tree.py)."""

import pytest
from helpers import HSUANWU_TREE, PONG, ROOT, with_keys

import hsuanwu_jax
from hsuanwu_jax import validate
from hsuanwu_jax.core.spec import EnvFacts
from hsuanwu_jax.envs.making import make_envpool
from hsuanwu_jax.envs.registry import env_facts


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


def test_the_migration_guide_lists_every_hsuanwu_key():
    guide = (ROOT / "docs" / "guides" / "hsuanwu.md").read_text()
    table = guide[guide.index("| Hsuanwu key |") : guide.index("Env factories")]
    keys = [key for key, value in HSUANWU_TREE.items() if not isinstance(value, dict)]
    keys += [
        f"{name}.{key}" for name, value in HSUANWU_TREE.items() if isinstance(value, dict) for key in value
    ]
    for key in keys:  # a section's later keys are listed after its first: `agent.lr`, `eps`, ...
        assert f"`{key}`" in table or f"`{key.rpartition('.')[2]}`" in table, key
