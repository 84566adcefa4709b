"""Dict observations (EnvPool's DeepMind Control tasks) flattened in a fixed order."""

import envpool
import gymnasium
import numpy as np
import pytest

from hsuanwu_jax.envs.dict_obs import FlatDictObsEnv, dict_layout, flat_size, flatten

SPACE = gymnasium.spaces.Dict(
    {
        "velocity": gymnasium.spaces.Box(-1, 1, (3,)),
        "angle": gymnasium.spaces.Box(-1, 1, ()),
        "arm": gymnasium.spaces.Box(-1, 1, (2, 2)),
    }
)


def test_the_layout_is_the_keys_sorted_by_name_with_their_shapes():
    assert dict_layout(SPACE) == (("angle", ()), ("arm", (2, 2)), ("velocity", (3,)))
    assert flat_size(dict_layout(SPACE)) == 1 + 4 + 3


def test_one_observation_and_a_batch_flatten_in_that_order():
    layout = dict_layout(SPACE)
    one = {"velocity": np.array([6.0, 7.0, 8.0]), "angle": np.float64(1.0), "arm": np.array([[2, 3], [4, 5]])}
    np.testing.assert_array_equal(flatten(one, layout), np.arange(1, 9, dtype=np.float32))
    assert flatten(one, layout).dtype == np.float32
    batch = {key: np.stack([np.asarray(value), 10 * np.asarray(value)]) for key, value in one.items()}
    expected = np.stack([np.arange(1, 9), 10 * np.arange(1, 9)]).astype(np.float32)
    np.testing.assert_array_equal(flatten(batch, layout), expected)


@pytest.mark.parametrize(
    "obs, message",
    [
        ({"angle": 0.0, "arm": np.zeros((2, 2))}, "has no \\['velocity'\\]"),
        ({"angle": 0.0, "arm": np.zeros((2, 3)), "velocity": np.zeros(3)}, "do not fit the layout"),
        ({"angle": np.zeros(2), "arm": np.zeros((3, 2, 2)), "velocity": np.zeros((2, 3))}, "one B for all"),
    ],
)
def test_observations_that_do_not_fit_are_named(obs, message):
    with pytest.raises(ValueError, match=message):
        flatten(obs, dict_layout(SPACE))


def test_a_dict_with_a_non_numeric_entry_is_refused_by_name():
    space = gymnasium.spaces.Dict(
        {"pos": gymnasium.spaces.Box(-1, 1, (2,)), "mode": gymnasium.spaces.Discrete(3)}
    )
    with pytest.raises(ValueError, match="entry 'mode' is Discrete"):
        dict_layout(space)


def test_an_envpool_dmc_task_steps_with_flat_observations():
    raw = envpool.make("CheetahRun-v1", env_type="gymnasium", num_envs=3, seed=5)
    env = FlatDictObsEnv(envpool.make("CheetahRun-v1", env_type="gymnasium", num_envs=3, seed=5))
    assert env.observation_space.shape == (17,) and env.observation_space.dtype == np.float32
    (raw_obs, _), (obs, _) = raw.reset(), env.reset()
    expected = np.concatenate([raw_obs["position"], raw_obs["velocity"]], axis=1).astype(np.float32)
    np.testing.assert_array_equal(obs, expected)
    action = np.random.default_rng(0).uniform(-1, 1, (3, 6)).astype(np.float32)
    raw_step, step = raw.step(action), env.step(action)
    expected = np.concatenate([raw_step[0]["position"], raw_step[0]["velocity"]], axis=1).astype(np.float32)
    np.testing.assert_array_equal(step[0], expected)
    np.testing.assert_array_equal(step[1], raw_step[1])
    env.close()
    raw.close()


def test_a_dmc_task_trains_tests_exports_and_its_policy_takes_dict_observations(tmp_path):
    from helpers import tiny_config

    from hsuanwu_jax import DistributedTrainer, load_policy, make_env

    cfg = tiny_config(tmp_path, env_id="CheetahRun-v1", num_train_steps=400, num_test_episodes=2)
    cfg.test_max_episode_steps = 50
    trainer = DistributedTrainer(cfg, train_env=make_env(cfg), test_env=make_env(cfg, test=True))
    try:
        trainer.train()
        assert trainer.spec.obs_shape == (17,) and trainer.actor_mode == "python"
        assert trainer.test()["num_episodes"] == 2
    finally:
        trainer.close()
    env = envpool.make("CheetahRun-v1", env_type="gymnasium", num_envs=3, seed=1)
    policy = load_policy(str(tmp_path / "export"), env=env)
    assert policy.spec.obs_layout == (("position", (8,)), ("velocity", (9,)))
    obs, _ = env.reset()
    actions, _ = policy(obs)
    one, _ = load_policy(str(tmp_path / "export"))({key: value[1] for key, value in obs.items()})
    assert actions.shape == (3, 6) and one.shape == (6,)
    np.testing.assert_allclose(one, actions[1], rtol=1e-5, atol=1e-6)
    flat = np.concatenate([obs["position"], obs["velocity"]], axis=1)
    np.testing.assert_allclose(load_policy(str(tmp_path / "export"))(flat)[0], actions, rtol=1e-5, atol=1e-6)
    env.close()
