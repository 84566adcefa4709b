"""The actor loop against a fake batched env: trajectory layout, continuity and behaviour log-probs."""

import jax
import numpy as np
from fakes import CountingEnv

from hsuanwu_jax.acting.actor import Actor
from hsuanwu_jax.acting.batches import BatchAssembler
from hsuanwu_jax.agent.networks import ImpalaNetwork
from hsuanwu_jax.agent.policy import make_policy_fn
from hsuanwu_jax.core.distributions import Categorical
from hsuanwu_jax.core.spec import EnvSpec
from hsuanwu_jax.envs.interface import env_spec

T = 5


def make_actor(env, use_lstm=False):
    network = ImpalaNetwork(action_size=2, mlp_hidden_sizes=(8,), use_lstm=use_lstm, lstm_size=4)
    spec = env_spec(env)
    zeros = np.zeros((1, 1), np.int32)
    params = network.init(
        jax.random.PRNGKey(0),
        np.zeros((1, 1, 3), np.float32),
        zeros,
        zeros.astype(np.float32),
        zeros.astype(bool),
        network.initial_core_state(1),
    )
    episodes = []
    actor = Actor(
        env,
        spec,
        make_policy_fn(network, Categorical, greedy=False),
        network.initial_core_state(env.num_envs),
        T,
        jax.random.PRNGKey(1),
        jax.devices()[0],
        on_episodes=episodes.extend,
    )
    return actor, network, params, episodes


def test_rollouts_tile_the_stream_and_follow_envpool_resets():
    env = CountingEnv([3, 4])
    actor, _, params, episodes = make_actor(env)
    first = actor.collect(params)
    first_copy = jax.tree.map(np.copy, first)
    second = actor.collect(params)
    # Entry 0 of a rollout is entry T of the previous one (its observation fields).
    for field in ("obs", "first", "reward", "done", "terminated", "prev_action"):
        np.testing.assert_array_equal(getattr(second, field)[0], getattr(first_copy, field)[T])
    # Env 0 (episodes of 3 steps): obs steps 0,1,2,3(done),0(first),1 ...
    np.testing.assert_array_equal(first_copy.obs[:, 0, 1], [0, 1, 2, 3, 0, 1])
    np.testing.assert_array_equal(first_copy.done[:, 0], [0, 0, 0, 1, 0, 0])
    np.testing.assert_array_equal(first_copy.first[:, 0], [1, 0, 0, 0, 1, 0])
    np.testing.assert_array_equal(first_copy.terminated[:, 0], first_copy.done[:, 0])
    # reward_t is what arrived with obs_t: k after the k-th step, 0 on the reset observation.
    np.testing.assert_array_equal(first_copy.reward[:, 0], [0, 1, 2, 3, 0, 1])
    # prev_action_t is the action taken at t - 1 (the env saw it).
    np.testing.assert_array_equal(first_copy.prev_action[1:], first_copy.action[:-1])
    np.testing.assert_array_equal(np.stack(env.actions_seen[:T]), first_copy.action[:T])
    # The finished episode of env 0 was reported with its return 1 + 2 + 3 and length 3.
    assert (0, 6.0, 3) in episodes and (1, 10.0, 4) in episodes


def test_behaviour_log_probs_are_the_policy_log_probs_of_the_actions():
    env = CountingEnv([7, 9, 11])
    actor, network, params, _ = make_actor(env, use_lstm=True)
    traj = actor.collect(params)
    out, _ = network.apply(
        params, traj.obs, traj.prev_action, traj.reward, traj.first, traj.initial_core_state
    )
    expected = Categorical.log_prob(out.policy, traj.action)
    # Both float32, one step at a time vs the whole trace at once: the same math in another order, so
    # rounding only: each log-prob is a log-sum-exp over A logits of O(1) from layers summing a few dozen
    # products, a few dozen float32 epsilons (1.2e-7) at most: rtol 1e-5, with atol 1e-6 for values near 0.
    np.testing.assert_allclose(traj.behaviour_log_prob[:T], expected[:T], rtol=1e-5, atol=1e-6)


def test_truncation_is_done_but_not_terminated():
    env = CountingEnv([2, 2], truncate=True)
    actor, _, params, _ = make_actor(env)
    traj = actor.collect(params)
    assert traj.done.any()
    assert not traj.terminated.any()


def test_the_batch_the_update_compiles_on_holds_zeros():
    # Not uninitialised memory: float64 garbage can exceed float32's range, and its cast on the way to the
    # device made numpy warn "overflow encountered in cast" at the start of a run.
    spec = EnvSpec((11,), np.dtype(np.float64), (3,), 3, (-1.0,) * 3, (1.0,) * 3)
    batch = BatchAssembler(
        spec, num_steps=4, num_envs=2, rollouts_per_batch=2, core_template=()
    ).empty_batch()
    assert batch.obs.shape == (5, 4, 11) and batch.obs.dtype == np.float64
    for leaf in jax.tree.leaves(batch):
        assert not np.any(leaf)
