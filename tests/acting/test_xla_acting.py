"""The XLA rollout against the Python loop on real EnvPool envs: the same rollouts and episodes, refusals, the run loop."""

import functools
import itertools
import threading
import time

import gymnasium
import jax
import numpy as np
import pytest

from hsuanwu_jax import default_config, load_config, make_env
from hsuanwu_jax.acting.actor import Actor
from hsuanwu_jax.acting.pipeline import ParamsSource, RolloutQueue
from hsuanwu_jax.acting.workers import WorkerGroup
from hsuanwu_jax.agent.networks import ImpalaNetwork
from hsuanwu_jax.agent.params import init_params
from hsuanwu_jax.agent.policy import make_policy_fn
from hsuanwu_jax.core.distributions import get_distribution
from hsuanwu_jax.envs.interface import env_spec
from hsuanwu_jax.envs.vector_env import as_batched_env

OBS_FIELDS = ("obs", "first", "prev_action", "reward", "done", "terminated")


def config(preset=None, **overrides):
    cfg = load_config(preset) if preset else default_config()
    cfg.update(dict(num_actors=1, num_envs=4, mlp_hidden_sizes=(16,), lstm_size=8))
    cfg.update(overrides)
    return cfg


def network_and_params(cfg, spec, widen_log_std=False):
    network = ImpalaNetwork(
        action_size=spec.action_size,
        distribution=spec.distribution,
        encoder=cfg.encoder,
        mlp_hidden_sizes=tuple(cfg.mlp_hidden_sizes),
        use_lstm=cfg.use_lstm,
        lstm_size=cfg.lstm_size,
    )
    params = init_params(network, spec, jax.random.PRNGKey(0))
    if widen_log_std:  # log_std = 1: many Gaussian samples fall outside the bounds and are clipped
        params = jax.tree_util.tree_map_with_path(
            lambda path, x: x + 1.0 if "log_std" in jax.tree_util.keystr(path) else x, params
        )
    return network, params


def make_actor(mode, cfg, network, num_steps, episodes):
    """An actor on a fresh env of `cfg`: every call makes identically seeded envs."""
    env = make_env(cfg)[0]
    spec = env_spec(env)
    return Actor(
        env,
        spec,
        make_policy_fn(network, get_distribution(spec.distribution), greedy=False),
        network.initial_core_state(cfg.num_envs),
        num_steps,
        jax.random.PRNGKey(1),
        jax.devices()[0],
        on_episodes=episodes.extend,
        mode=mode,
    )


def assert_same_rollout(expected, actual, num_steps):
    for field in OBS_FIELDS:
        np.testing.assert_array_equal(getattr(actual, field), getattr(expected, field), err_msg=field)
    # Entry T's action and log-prob are left unset by both actors.
    np.testing.assert_array_equal(actual.action[:num_steps], expected.action[:num_steps])
    np.testing.assert_array_equal(
        actual.behaviour_log_prob[:num_steps], expected.behaviour_log_prob[:num_steps]
    )
    jax.tree.map(np.testing.assert_array_equal, actual.initial_core_state, expected.initial_core_state)


def collect_both(cfg, num_steps, num_rollouts, widen_log_std=False):
    """The Python loop's and the XLA rollout's rollouts (checked identical) and reported episodes, with the same inputs."""
    spec = env_spec(make_env(cfg)[0])
    network, params = network_and_params(cfg, spec, widen_log_std)
    results = []
    for mode in ("python", "xla"):
        episodes = []
        actor = make_actor(mode, cfg, network, num_steps, episodes)
        rollouts = [actor.collect(params) for _ in range(num_rollouts)]
        results.append((rollouts, episodes, actor.key))
    (expected, expected_episodes, expected_key), (actual, actual_episodes, actual_key) = results
    for e, a in zip(expected, actual, strict=True):
        assert_same_rollout(e, a, num_steps)
    assert actual_episodes == expected_episodes
    np.testing.assert_array_equal(actual_key, expected_key)  # the same key sequence was consumed
    return actual, actual_episodes


@pytest.mark.parametrize("use_lstm", [False, True])
def test_cartpole_rollouts_and_episodes_equal_the_python_actor(use_lstm):
    rollouts, episodes = collect_both(config(use_lstm=use_lstm), num_steps=25, num_rollouts=3)
    # Episodes end (and restart) inside rollouts, so the done -> first carry is exercised...
    assert len(episodes) >= 2 and all(r.first[1:].any() for r in rollouts[1:])
    # ...and consecutive rollouts tile the stream.
    for previous, current in itertools.pairwise(rollouts):
        for field in OBS_FIELDS:
            np.testing.assert_array_equal(getattr(current, field)[0], getattr(previous, field)[-1])
    if use_lstm:
        assert np.abs(rollouts[-1].initial_core_state[0]).max() > 0  # a carried, non-zero state


def test_continuous_actions_are_clipped_when_sent_and_kept_unclipped():
    cfg = config("impala_mujoco", num_envs=2)
    (traj, *_), _ = collect_both(cfg, num_steps=8, num_rollouts=2, widen_log_std=True)
    assert traj.action.dtype == np.float32 and np.abs(traj.action[:8]).max() > 1.0  # unclipped samples
    # float64 MuJoCo observations come back at full precision (equal to Actor's), not via float32.
    assert traj.obs.dtype == np.float64 and not np.array_equal(traj.obs, traj.obs.astype(np.float32))


def test_atari_frames_rollouts_and_game_episodes_equal_the_python_actor():
    cfg = config("impala_atari", num_envs=2)
    cfg.env_kwargs = dict(cfg.env_kwargs, max_episode_steps=27)  # a random agent loses a life in ~25 steps
    rollouts, episodes = collect_both(cfg, num_steps=5, num_rollouts=6)
    assert rollouts[0].obs.dtype == np.uint8 and rollouts[0].obs.shape == (6, 2, 4, 84, 84)
    # With episodic_life a lost life terminates the learning episode but not the game, which only
    # the env's info tells: the reported episodes are the 27-step games, not the lives.
    assert any(r.terminated.any() for r in rollouts)
    assert len(episodes) == 2 and all(length == 27 for _, _, length in episodes)


def test_envpool_xla_steps_return_envs_in_env_id_order():
    """The XLA rollout, like the Python loop, sends actions without env ids: sync-mode EnvPool must return env i in
    slot i, also with several threads finishing in any order."""
    env = make_env(config(num_envs=8, env_threads=4))[0]
    handle, _, _, env_step = env.xla()
    env.reset()

    def step(handle, action):
        handle, (*_, info) = env_step(handle, action)
        return handle, info["env_id"]

    actions = np.random.default_rng(0).integers(0, 2, (40, 8)).astype(np.int32)
    _, env_ids = jax.jit(lambda h, a: jax.lax.scan(step, h, a))(handle, actions)
    np.testing.assert_array_equal(env_ids, np.broadcast_to(np.arange(8), (40, 8)))


def test_gymnasium_vector_envs_are_refused_with_the_alternative():
    spec_env = make_env(config())[0]
    vector_env = gymnasium.vector.SyncVectorEnv([lambda: gymnasium.make("CartPole-v1")] * 2)
    for env in (vector_env, as_batched_env(vector_env)):
        with pytest.raises(ValueError, match=r"actor_mode='xla' needs an EnvPool env.*actor_mode='python'"):
            Actor(env, env_spec(spec_env), None, (), 5, jax.random.PRNGKey(0), jax.devices()[0], mode="xla")
    vector_env.close()


def test_run_fills_the_queue_with_the_same_rollouts_and_stops_promptly():
    cfg = config(use_lstm=True)
    network, params = network_and_params(cfg, env_spec(make_env(cfg)[0]))
    reference = make_actor("python", cfg, network, 10, [])
    expected = [jax.tree.map(np.copy, reference.collect(params)) for _ in range(3)]
    actor = make_actor("xla", cfg, network, 10, [])
    stop = threading.Event()
    workers, rollouts = WorkerGroup(stop), RolloutQueue(1, stop)
    workers.start("actor-0", functools.partial(actor.run, ParamsSource(params, 7), rollouts, stop))
    for want in expected:
        rollout = rollouts.get(workers.raise_if_failed)
        assert rollout.params_version == 7
        assert_same_rollout(want, rollout.trajectory, 10)
        rollout.release()
    started = time.perf_counter()
    assert workers.join(timeout=5.0) == []  # waiting on a full queue or for a buffer, it sees the stop
    assert time.perf_counter() - started < 2.0
    workers.raise_if_failed()


def test_each_actor_compiles_its_rollout_once_in_a_training_run(tmp_path, caplog):
    """The params the learner publishes must reach the actors with the same types every time: once they
    carried the learner mesh in their types, and every actor compiled its rollout a second time after its
    first (about 1 s per actor for a Nature CNN)."""
    from hsuanwu_jax import DistributedTrainer

    cfg = load_config("configs/impala_cartpole.py")
    cfg.update(dict(num_actors=2, num_envs=4, num_steps=5, batch_size=8, num_train_steps=400, log_every=400))
    cfg.update(dict(test_every=0, progress="none", workdir=str(tmp_path), compile_cache_dir=""))
    trainer = DistributedTrainer(cfg)
    jax.config.update("jax_log_compiles", True)
    try:
        with caplog.at_level("WARNING"):
            trainer.train()
    finally:
        jax.config.update("jax_log_compiles", False)
        trainer.close()
    compiles = [r for r in caplog.records if r.getMessage().startswith("Compiling jit(rollout)")]
    assert trainer.env_steps == 400  # 10 updates: rollouts with learned params, published 9 times
    assert len(compiles) == cfg.num_actors


def test_greedy_tests_compile_their_policy_once(tmp_path, caplog):
    """The first step of a greedy test used a key split eagerly (not placed on a device) and every later
    step the policy's own (on the params' device): the two placements compiled the policy twice per
    process, 0.2 s each for CartPole's first test."""
    from hsuanwu_jax import DistributedTrainer

    cfg = load_config("configs/impala_cartpole.py")
    cfg.update(dict(num_actors=1, num_envs=4, batch_size=4, num_test_episodes=3))
    cfg.update(dict(progress="none", workdir=str(tmp_path), compile_cache_dir=""))
    trainer = DistributedTrainer(cfg)
    jax.config.update("jax_log_compiles", True)
    try:
        with caplog.at_level("WARNING"):
            results = [trainer.test(), trainer.test()]
    finally:
        jax.config.update("jax_log_compiles", False)
        trainer.close()
    compiles = [r for r in caplog.records if r.getMessage().startswith("Compiling jit(policy)")]
    assert all(
        r["num_episodes"] == 3 and r["episode_length"] > 1 for r in results
    )  # steps after the first ran
    assert len(compiles) == 1
