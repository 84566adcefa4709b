"""Observation normalisation: running moments against float64, pieces and devices, checkpoints and exports."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import learner_setup, tiny_config

from hsuanwu_jax import DistributedTrainer, load_policy, make_env
from hsuanwu_jax.core import obs_norm
from hsuanwu_jax.parallel.mesh import fetch, shard_trajectory


def random_batches(seed):
    """Batches [N, 5] of different sizes (one of 1 observation): a dimension far from 0 with a small spread,
    a constant one, a wide one, and two that drift from batch to batch."""
    rng = np.random.default_rng(seed)
    batches = []
    for index, size in enumerate((64, 1, 200, 17, 96, 3)):
        x = np.empty((size, 5))
        x[:, 0] = 1e3 + 0.1 * rng.normal(size=size)
        x[:, 1] = -7.0
        x[:, 2] = 50.0 * rng.normal(size=size)
        x[:, 3] = index + rng.normal(size=size)
        x[:, 4] = rng.exponential(2.0, size=size) - index
        batches.append(x)
    return batches


def merged(batches):
    stats = obs_norm.initial_stats(5)
    for batch in batches:
        stats = obs_norm.merge(stats, obs_norm.batch_sums(stats, jnp.asarray(batch, jnp.float32)))
    return {name: np.asarray(value, np.float64) for name, value in stats.items()}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_running_moments_match_float64_over_random_batches(seed):
    batches = random_batches(seed)
    stats = merged(batches)
    # The first batch places the statistics; every later one is counted.
    counted = np.concatenate(batches[1:])
    assert stats["count"] == len(counted)
    np.testing.assert_allclose(stats["mean"], counted.mean(axis=0), rtol=1e-6, atol=1e-5)
    # float32 sums of standardised values: the variances to 1e-4 of themselves (the constant one to ~0).
    np.testing.assert_allclose(stats["variance"], counted.var(axis=0), rtol=1e-4, atol=1e-8)


def test_a_batch_in_pieces_merges_like_the_whole_and_an_empty_one_changes_nothing():
    batches = random_batches(3)
    stats = merged(batches[:2])
    whole = obs_norm.batch_sums(stats, jnp.asarray(batches[2], jnp.float32))
    pieces = [obs_norm.batch_sums(stats, jnp.asarray(p, jnp.float32)) for p in np.array_split(batches[2], 4)]
    added = jax.tree.map(lambda *x: sum(x), *pieces)
    for name in ("mean", "variance", "count"):
        np.testing.assert_allclose(
            obs_norm.merge(stats, added)[name], obs_norm.merge(stats, whole)[name], rtol=1e-6, atol=1e-6
        )
    empty = obs_norm.batch_sums(stats, jnp.zeros((0, 5), jnp.float32))
    assert all(np.array_equal(obs_norm.merge(stats, empty)[k], stats[k]) for k in stats)


def test_normalised_observations_are_clipped_and_give_the_statistics_no_gradient():
    stats = {"mean": jnp.array([1.0, -2.0]), "variance": jnp.array([4.0, 1e-6]), "count": jnp.array(10.0)}
    obs = jnp.array([[3.0, -2.0], [1.0, 5.0]])
    expected = np.array([[1.0, 0.0], [0.0, obs_norm.CLIP]])
    np.testing.assert_allclose(obs_norm.normalise(stats, obs), expected, rtol=1e-6)
    grads = jax.grad(lambda s: jnp.sum(obs_norm.normalise(s, obs)))(stats)
    assert all(np.all(np.asarray(g) == 0) for g in jax.tree.leaves(grads))


def test_the_learner_updates_the_statistics_from_every_observation_and_keeps_them_out_of_the_optimizer():
    step, state, traj, mesh, _, _ = learner_setup(obs_norm=True)
    before = fetch(state.params[obs_norm.COLLECTION])
    for _ in range(2):
        state, _ = step(state, shard_trajectory(traj, mesh))
    after = fetch(state.params[obs_norm.COLLECTION])
    observations = np.asarray(traj.obs[1:], np.float64).reshape(-1, traj.obs.shape[-1])
    # Update 1 placed them at the batch's moments, update 2 counted the same batch once.
    assert float(before["count"]) == -1 and float(after["count"]) == len(observations)
    np.testing.assert_allclose(after["mean"], observations.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(after["variance"], observations.var(axis=0), rtol=1e-4)
    moments = fetch(state.opt_state)  # RMSProp's second moments of the statistics stay 0
    nu = [x for path, x in jax.tree_util.tree_leaves_with_path(moments) if obs_norm.COLLECTION in str(path)]
    assert nu and all(np.all(np.asarray(x) == 0) for x in nu)


def test_the_statistics_are_checkpointed_resumed_exported_and_applied_by_load_policy(tmp_path):
    cfg = tiny_config(tmp_path, env_id="CartPole-v1", obs_norm=True, num_train_steps=800)
    trainer = DistributedTrainer(cfg, train_env=make_env(cfg), test_env=make_env(cfg, test=True))
    try:
        trainer.train()
        trained = fetch(trainer.state.params[obs_norm.COLLECTION])
        obs = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
        step, _ = trainer.agent.greedy_policy(
            trainer.actor_params(),
            jax.random.PRNGKey(0),
            obs,
            np.zeros(6, np.int32),
            np.zeros(6, np.float32),
            np.ones(6, bool),
            trainer.network.initial_core_state(6),
        )
    finally:
        trainer.close()
    assert float(trained["count"]) > 0 and np.all(np.asarray(trained["variance"]) != 1.0)
    resumed = DistributedTrainer(cfg, train_env=make_env(cfg), test_env=make_env(cfg, test=True))
    try:
        restored = fetch(resumed.state.params[obs_norm.COLLECTION])
        assert all(np.array_equal(restored[k], trained[k]) for k in trained)
    finally:
        resumed.close()
    policy = load_policy(str(tmp_path / "export"))
    exported = policy.params[obs_norm.COLLECTION]
    assert all(np.array_equal(np.asarray(exported[k]), np.asarray(trained[k])) for k in trained)
    with open(tmp_path / "export" / "model.json") as f:
        assert json.load(f)["network"]["obs_norm"] is True
    action, _ = policy(obs)
    np.testing.assert_array_equal(np.asarray(action), np.asarray(step.action))
