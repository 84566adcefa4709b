"""Gymnasium vector envs behind the batched interface (envs/vector_env.py)."""

import gymnasium
import numpy as np
import pytest
from helpers import gym_cartpoles, tiny_config

from hsuanwu_jax import DistributedTrainer, default_config, make_env


def test_gymnasium_vector_envs_train_through_the_adapter(tmp_path):
    cfg = tiny_config(tmp_path, num_train_steps=1_000)
    trainer = DistributedTrainer(
        cfg, train_env=[gym_cartpoles(4), gym_cartpoles(4)], test_env=gym_cartpoles(3)
    )
    assert trainer.actor_mode == "python"  # not EnvPool envs: stepped in Python through the adapter
    record = trainer.train()
    assert trainer.env_steps >= 1_000 and np.isfinite(record["loss"])
    result = trainer.test()
    assert result["num_episodes"] == 3 and 8 <= result["episode_length"] <= 500
    trainer.close()


def test_a_gymnasium_env_with_another_reset_mode_is_refused(tmp_path):
    same_step = gym_cartpoles(4, autoreset_mode=gymnasium.vector.AutoresetMode.SAME_STEP)
    with pytest.raises(ValueError, match=r"only AutoresetMode\.NEXT_STEP"):
        DistributedTrainer(
            tiny_config(tmp_path, num_actors=1), train_env=same_step, test_env=gym_cartpoles(3)
        )


def test_envpool_envs_are_used_as_they_are_and_other_vector_envs_through_the_adapter():
    from hsuanwu_jax.envs.vector_env import GymnasiumVectorEnv, as_batched_env

    envpool_env = make_env(default_config())[0]  # a gymnasium.vector.VectorEnv subclass itself
    assert as_batched_env(envpool_env) is envpool_env
    assert isinstance(as_batched_env(gym_cartpoles(2)), GymnasiumVectorEnv)
