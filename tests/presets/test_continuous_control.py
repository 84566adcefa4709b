"""Continuous actions: the actor squashes (or clips) what it sends and keeps the sample; MuJoCo trains on
EnvPool."""

import jax
import numpy as np
import pytest
from fakes import CountingEnv
from helpers import tiny_config

from hsuanwu_jax import DistributedTrainer, load_policy, make_env
from hsuanwu_jax.acting.actor import Actor
from hsuanwu_jax.agent.networks import ImpalaNetwork
from hsuanwu_jax.agent.params import init_params
from hsuanwu_jax.agent.policy import make_policy_fn
from hsuanwu_jax.core.distributions import DiagGaussian
from hsuanwu_jax.envs.interface import env_spec


@pytest.mark.parametrize("action_squash", ["sample", "mean"])
def test_continuous_actor_bounds_what_it_sends_and_keeps_the_sample(action_squash):
    env = CountingEnv([4, 6, 8], continuous=True)
    spec = env_spec(env)
    assert spec.distribution == "diag_gaussian" and spec.action_shape == (2,)
    assert (spec.action_low, spec.action_high) == ((-1.0, -1.0), (1.0, 1.0))
    network = ImpalaNetwork(
        action_size=2,
        distribution="diag_gaussian",
        mlp_hidden_sizes=(8,),
        action_squash=action_squash,
        action_bounds=(spec.action_low, spec.action_high),
    )
    params = init_params(network, spec, jax.random.PRNGKey(0))
    # A wide policy: log_std = 1, so many samples fall outside [-1, 1].
    params = jax.tree_util.tree_map_with_path(
        lambda path, x: x + 1.0 if "log_std" in jax.tree_util.keystr(path) else x, params
    )
    actor = Actor(
        env,
        spec,
        make_policy_fn(network, DiagGaussian, greedy=False),
        (),
        6,
        jax.random.PRNGKey(1),
        jax.devices()[0],
    )
    traj = actor.collect(params)
    sent = np.stack(env.actions_seen)
    assert traj.action.dtype == np.float32 and traj.action.shape == (7, 3, 2)
    assert np.abs(traj.action[:6]).max() > 1.0  # unbounded samples are kept...
    # ...and sent within the bounds: tanh of the sample (float32 vs float64: a few epsilons), or clipped.
    if action_squash == "sample":
        np.testing.assert_allclose(sent, np.tanh(traj.action[:6].astype(np.float64)), rtol=0, atol=1e-6)
        assert np.abs(sent).max() < 1.0
    else:
        np.testing.assert_array_equal(sent, np.clip(traj.action[:6], -1.0, 1.0))
    out, _ = network.apply(params, traj.obs, traj.prev_action, traj.reward, traj.first, ())
    # Both float32, step by step vs the whole trace: reordered operations only. A Gaussian log-prob sums
    # squared deviations that reach O(10) for these wide samples: atol 1e-5 is ~100 epsilons (1.2e-7) of it.
    np.testing.assert_allclose(
        traj.behaviour_log_prob[:6], DiagGaussian.log_prob(out.policy, traj.action)[:6], rtol=1e-5, atol=1e-5
    )


def test_continuous_control_trains_on_envpool(tmp_path):
    """Pendulum-v1 (a Box action) end to end: train briefly, test, save and load."""
    cfg = tiny_config(
        tmp_path,
        env_id="Pendulum-v1",
        num_actors=1,
        num_envs=8,
        batch_size=8,
        num_steps=10,
        num_train_steps=4_000,
    )
    trainer = DistributedTrainer(cfg)
    trainer.train()
    result = trainer.test()
    assert result["num_episodes"] == 3 and result["episode_length"] == 200
    policy = load_policy(trainer.save(), make_env(cfg, test=True))
    action, _ = policy(np.zeros(3, np.float32))
    assert action.shape == (1,) and -2.0 <= float(action[0]) <= 2.0
    # The export keeps the bounds the Gaussian's mean is kept within (Pendulum's torque, +-2).
    assert policy.network.action_bounds == ((-2.0,), (2.0,)) == trainer.agent.network.action_bounds
