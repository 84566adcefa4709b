"""Hsuanwu's import paths and the envs its `make_*_env` factories make (hsuanwu/factories.py): protocols,
encodings, refusals, and one env split over the actors."""

import envpool
import gymnasium
import numpy as np
import pytest
from fakes import CountingEnv
from helpers import HSUANWU_TREE, with_keys

from hsuanwu_jax import DistributedTrainer
from hsuanwu_jax.envs.splitting import split_env


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
