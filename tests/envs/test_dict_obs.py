"""Dict observations (EnvPool's DeepMind Control and MiniGrid tasks) flattened in a fixed order."""

import json

import envpool
import gymnasium
import numpy as np
import pytest

from hsuanwu_jax.core.spec import EnvSpec, ObsEntry, spec_from_json, spec_to_json
from hsuanwu_jax.envs.dict_obs import FlatDictObsEnv, dict_layout, encode_text, flat_size, flatten

SPACE = gymnasium.spaces.Dict(
    {
        "velocity": gymnasium.spaces.Box(-1, 1, (3,)),
        "angle": gymnasium.spaces.Box(-1, 1, ()),
        "arm": gymnasium.spaces.Box(-1, 1, (2, 2)),
    }
)


def test_the_layout_is_the_keys_sorted_by_name_with_their_shapes():
    assert dict_layout(SPACE) == (ObsEntry("angle", ()), ObsEntry("arm", (2, 2)), ObsEntry("velocity", (3,)))
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
    assert policy.spec.obs_layout == (ObsEntry("position", (8,)), ObsEntry("velocity", (9,)))
    obs, _ = env.reset()
    actions, _ = policy(obs)
    one, _ = load_policy(str(tmp_path / "export"))({key: value[1] for key, value in obs.items()})
    assert actions.shape == (3, 6) and one.shape == (6,)
    np.testing.assert_allclose(one, actions[1], rtol=1e-5, atol=1e-6)
    flat = np.concatenate([obs["position"], obs["velocity"]], axis=1)
    np.testing.assert_allclose(load_policy(str(tmp_path / "export"))(flat)[0], actions, rtol=1e-5, atol=1e-6)
    env.close()


def flat_obs_wrapper(image, mission):
    """minigrid's FlatObsWrapper on one observation, character by character: the view flattened, then
    each of the mission's first 96 characters one-hot over 28 codes."""
    codes = np.zeros((96, 28), np.float32)
    for index, char in enumerate(mission.lower()):
        codes[index, 26 if char == " " else 27 if char == "," else ord(char) - ord("a")] = 1.0
    return np.concatenate([image.reshape(-1).astype(np.float32), codes.reshape(-1)])


def test_minigrid_observations_are_encoded_as_flatobswrapper_encodes_them():
    env = FlatDictObsEnv(envpool.make("MiniGrid-DoorKey-5x5-v0", env_type="gymnasium", num_envs=3, seed=2))
    raw = envpool.make("MiniGrid-DoorKey-5x5-v0", env_type="gymnasium", num_envs=3, seed=2)
    assert env.obs_layout == (ObsEntry("image", (7, 7, 3)), ObsEntry("mission", (96,), text=True))
    assert env.observation_space.shape == (7 * 7 * 3 + 96 * 28,)
    rng = np.random.default_rng(0)
    (obs, _), (raw_obs, _) = env.reset(), raw.reset()
    for _ in range(5):
        for row in range(3):
            mission = bytes(raw_obs["mission"][row]).rstrip(b"\0").decode()
            assert mission == "use the key to open the door and then get to the goal"
            np.testing.assert_array_equal(obs[row], flat_obs_wrapper(raw_obs["image"][row], mission))
        action = rng.integers(0, 7, 3)
        obs, raw_obs = env.step(action)[0], raw.step(action)[0]
    env.close()
    raw.close()


def test_mission_text_upper_case_commas_and_unknown_characters():
    missions = np.zeros((2, 96), np.uint8)
    missions[0, :10] = np.frombuffer(b"Go, To Key", np.uint8)
    missions[1, :3] = np.frombuffer(b"a b", np.uint8)
    missions[1, 4] = ord("z")  # after the end: not read
    codes = encode_text(missions).reshape(2, 96, 28)
    expected = np.stack([flat_obs_wrapper(np.zeros(0), m) for m in ("go, to key", "a b")]).reshape(2, 96, 28)
    np.testing.assert_array_equal(codes, expected)
    np.testing.assert_array_equal(encode_text(missions[1]), expected[1].reshape(-1))
    missions[1, 1] = ord("!")
    with pytest.raises(ValueError, match="mission 'a!b' has the character '!'"):
        encode_text(missions)


def test_a_minigrid_policy_takes_the_dict_one_or_a_batch(tmp_path):
    from helpers import tiny_config

    from hsuanwu_jax import DistributedTrainer, load_policy, make_env

    cfg = tiny_config(tmp_path, env_id="MiniGrid-Empty-5x5-v0", num_train_steps=200, num_test_episodes=2)
    trainer = DistributedTrainer(cfg, train_env=make_env(cfg), test_env=make_env(cfg, test=True))
    try:
        trainer.train()
        assert trainer.test()["num_episodes"] == 2
    finally:
        trainer.close()
    env = envpool.make("MiniGrid-Empty-5x5-v0", env_type="gymnasium", num_envs=3, seed=1)
    policy = load_policy(str(tmp_path / "export"), env=env)
    obs, _ = env.reset()
    actions, _ = policy(obs)
    one, _ = load_policy(str(tmp_path / "export"))({key: value[2] for key, value in obs.items()})
    assert actions.shape == (3,) and one == actions[2]
    env.close()


def test_a_spec_stored_before_text_entries_reads_back():
    stored = {
        **spec_to_json(EnvSpec((17,), np.dtype(np.float32), (6,), 6, (-1.0,) * 6, (1.0,) * 6)),
        "obs_layout": [["position", [8]], ["velocity", [9]]],
    }
    assert spec_from_json(json.loads(json.dumps(stored))).obs_layout == (
        ObsEntry("position", (8,)),
        ObsEntry("velocity", (9,)),
    )
