"""Each of Hsuanwu's env factories (Atari, DeepMind Control, MiniGrid, Procgen) in a Hsuanwu script's form:
one env split over two actor threads by `DistributedTrainer(cfgs=..., train_env=..., test_env=...)`, a few
updates of `train()`, then `test()`, `save()`, and `load_policy` on the export acting on the test env's own
observations."""

import numpy as np
import pytest

from hsuanwu_jax import load_policy
from hsuanwu_jax.common.engine import DistributedTrainer
from hsuanwu_jax.env import make_atari_env, make_dmc_env, make_minigrid_env, make_procgen_env

FACTORIES = {
    "atari": (
        lambda n, seed: make_atari_env("PongNoFrameskip-v4", num_envs=n, seed=seed, distributed=True),
        {"name": "MnihCnnEncoder", "feature_dim": 512},
    ),
    "dmc": (
        lambda n, seed: make_dmc_env("cartpole_balance", num_envs=n, seed=seed, from_pixels=False),
        {"name": "IdentityEncoder"},
    ),
    "minigrid": (
        lambda n, seed: make_minigrid_env(
            "MiniGrid-Empty-5x5-v0", num_envs=n, fully_observable=False, seed=seed, distributed=True
        ),
        {"name": "IdentityEncoder"},
    ),
    "procgen": (
        lambda n, seed: make_procgen_env("coinrun", num_envs=n, seed=seed),
        {"name": "EspeholtResidualEncoder"},
    ),
}


def hsuanwu_tree(workdir, encoder):
    """Hsuanwu's IMPALA config keys, sized for a few updates."""
    return {
        "device": "cpu",
        "seed": 1,
        "num_actors": 2,
        "num_steps": 5,
        "num_train_steps": 120,
        "num_test_episodes": 2,
        "encoder": encoder,
        "agent": {"name": "IMPALA", "use_lstm": False},
        "storage": {"name": "DistributedStorage", "batch_size": 4},
        "workdir": str(workdir),
        "log_every": 40,
        "test_max_episode_steps": 30,
    }


@pytest.mark.parametrize("family", sorted(FACTORIES))
def test_a_hsuanwu_factory_trains_tests_saves_and_exports(tmp_path, family):
    make, encoder = FACTORIES[family]
    train_env, test_env = make(4, 1), make(2, 100)
    trainer = DistributedTrainer(cfgs=hsuanwu_tree(tmp_path, encoder), train_env=train_env, test_env=test_env)
    try:
        record = trainer.train()
        result = trainer.test()
        path = trainer.save()
    finally:
        trainer.close()
    assert record["step"] >= 120 and np.isfinite(record["loss"])
    assert result["num_episodes"] == 2 and np.isfinite(result["episode_reward"])
    policy = load_policy(path, env=test_env)
    obs, _ = test_env.reset()
    action, _ = policy(obs)
    assert action.shape == (2, *test_env.action_space.shape)
    assert test_env.action_space.contains(action[0])
    test_env.close()
