"""Continuous actions, model exports, load_policy and init_model_path."""

import json
import math
import pathlib

import gymnasium
import jax
import numpy as np
import pytest
from fakes import CountingEnv
from helpers import gym_cartpoles, tiny_config

from hsuanwu_jax import DistributedTrainer, default_config, load_policy, make_env
from hsuanwu_jax.acting.actor import Actor
from hsuanwu_jax.agent.networks import ImpalaNetwork
from hsuanwu_jax.agent.params import init_params
from hsuanwu_jax.agent.policy import make_policy_fn
from hsuanwu_jax.core.distributions import DiagGaussian
from hsuanwu_jax.envs.interface import env_spec


def test_diag_gaussian_matches_the_closed_forms():
    rng = np.random.default_rng(0)
    mean, log_std = rng.normal(size=(5, 3)), rng.normal(scale=0.5, size=(5, 3))
    action = rng.normal(size=(5, 3))
    std = np.exp(log_std)
    expected = np.sum(-((action - mean) ** 2) / (2 * std**2) - np.log(std) - 0.5 * np.log(2 * np.pi), -1)
    entropy = np.sum(0.5 * np.log(2 * np.pi * math.e * std**2), -1)
    with jax.enable_x64(True):  # the closed forms are float64: compare in float64
        log_prob = DiagGaussian.log_prob((mean, log_std), action)
        assert log_prob.dtype == np.float64
        # A sum of 3 terms of a few float64 operations each, O(1) to O(10): a few epsilons (2.2e-16).
        np.testing.assert_allclose(log_prob, expected, rtol=1e-12)
        np.testing.assert_allclose(DiagGaussian.entropy((mean, log_std)), entropy, rtol=1e-12)
    policy32 = tuple(np.broadcast_to(x[0], (20000, 3)).astype(np.float32) for x in (mean, log_std))
    samples = DiagGaussian.sample(jax.random.PRNGKey(0), policy32)  # float32, as the actors sample
    # Sampling error, not rounding: with n = 20,000 the standard error of the mean is std / sqrt(n) and that
    # of the standard deviation std / sqrt(2n). std[0] is at most 1.5 here, so atol 0.05 is >= 4.7 standard
    # errors of the mean and rtol 0.05 is 10 of the std's (a fixed key: the draw is the same every run).
    assert std[0].max() <= 1.5
    np.testing.assert_allclose(samples.mean(0), mean[0], atol=0.05)
    np.testing.assert_allclose(samples.std(0), std[0], rtol=0.05)


def test_continuous_actor_clips_what_it_sends_and_keeps_the_sample():
    env = CountingEnv([4, 6, 8], continuous=True)
    spec = env_spec(env)
    assert spec.distribution == "diag_gaussian" and spec.action_shape == (2,)
    network = ImpalaNetwork(action_size=2, distribution="diag_gaussian", mlp_hidden_sizes=(8,))
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
    assert np.abs(traj.action[:6]).max() > 1.0  # unclipped samples are kept...
    np.testing.assert_array_equal(sent, np.clip(traj.action[:6], -1.0, 1.0))  # ...and clipped when sent
    out, _ = network.apply(params, traj.obs, traj.prev_action, traj.reward, traj.first, ())
    # Both float32, step by step vs the whole trace: reordered operations only. A Gaussian log-prob sums
    # squared deviations that reach O(10) for these wide samples: atol 1e-5 is ~100 epsilons (1.2e-7) of it.
    np.testing.assert_allclose(
        traj.behaviour_log_prob[:6], DiagGaussian.log_prob(out.policy, traj.action)[:6], rtol=1e-5, atol=1e-5
    )


def trained(tmp_path, **overrides):
    cfg = tiny_config(tmp_path, num_train_steps=800, **overrides)
    envs = [CountingEnv([5 + k, 7, 9, 11]) for k in range(2)]
    trainer = DistributedTrainer(cfg, train_env=envs, test_env=CountingEnv([3]))
    trainer.train()
    return trainer


@pytest.mark.parametrize("use_lstm", [False, True])
def test_save_load_gives_the_same_actions(tmp_path, use_lstm):
    trainer = trained(tmp_path, use_lstm=use_lstm, lstm_size=8)
    path = trainer.save()
    policy = DistributedTrainer.load(path, CountingEnv([3]))
    obs = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    state = None
    expected_state = trainer.network.initial_core_state(5)
    prev, first = np.zeros(5, np.int32), np.ones(5, bool)
    params = jax.tree.map(np.asarray, trainer.state.params)
    for _ in range(3):  # several steps: the state (LSTM, last action) is carried the same way
        action, state = policy(obs, state)
        out, expected_state = trainer.network.apply(
            params, obs[None], prev[None], np.zeros((1, 5), np.float32), first[None], expected_state
        )
        expected = np.argmax(out.policy[0], -1)
        np.testing.assert_array_equal(action, expected)
        prev, first = expected.astype(np.int32), np.zeros(5, bool)
    single, _ = load_policy(path)(obs[0])
    assert np.shape(single) == ()


def test_init_model_path_starts_from_the_export(tmp_path):
    path = trained(tmp_path / "a").save()
    cfg = tiny_config(tmp_path / "b", init_model_path=path, weight_init="orthogonal")  # init: unused here
    restarted = DistributedTrainer(cfg, train_env=[CountingEnv([5, 7, 9, 11])] * 2, test_env=CountingEnv([3]))
    saved = load_policy(path).params
    jax.tree.map(np.testing.assert_array_equal, jax.tree.map(np.asarray, restarted.state.params), saved)
    assert int(restarted.state.update_step) == 0  # a new run: fresh optimizer and counters


def test_exports_that_do_not_fit_are_refused_with_the_reason(tmp_path):
    path = pathlib.Path(trained(tmp_path).save())
    with pytest.raises(ValueError, match=r"does not match the env: action_shape: export \(\), env \(2,\)"):
        load_policy(str(path), CountingEnv([3], continuous=True))
    cfg = tiny_config(tmp_path / "b", init_model_path=str(path), mlp_hidden_sizes=(32,))
    with pytest.raises(
        ValueError, match=r"holds a different network: mlp_hidden_sizes: export \(16,\), config \(32,\)"
    ):
        DistributedTrainer(cfg, train_env=[CountingEnv([5, 7, 9, 11])] * 2, test_env=CountingEnv([3]))
    meta = json.loads((path / "model.json").read_text())
    meta["network"]["encoder"] = "transformer"
    (path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="export encoder='transformer' is not one of"):
        load_policy(str(path))
    meta["network"].update(encoder="mlp", weight_init="glorot")  # encoder back to the real one
    (path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="export weight_init='glorot' is not one of"):
        load_policy(str(path))
    params = (path / "params.msgpack").read_bytes()
    meta["network"]["weight_init"] = "lecun"
    (path / "model.json").write_text(json.dumps(meta))
    (path / "params.msgpack").write_bytes(params[: len(params) // 2])
    with pytest.raises(ValueError, match=r"params\.msgpack is truncated or corrupted"):
        load_policy(str(path))
    (path / "params.msgpack").unlink()
    with pytest.raises(FileNotFoundError, match=r"params\.msgpack is missing"):
        load_policy(str(path))


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
