"""PopArt: the statistics' update, the output-preserving rescale (against float64 NumPy), the loss with and
without it, and the statistics carried through the learner, checkpoints and exports."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import network_params_and_loss, random_trajectory, tiny_config

from hsuanwu_jax import DistributedTrainer, load_policy, make_env
from hsuanwu_jax.agent.data_parallel import data_parallel
from hsuanwu_jax.agent.optim import LearningRate, make_optimizer
from hsuanwu_jax.agent.saved import stats_from_json
from hsuanwu_jax.agent.update import make_update_fns, rescale_value_head
from hsuanwu_jax.core import popart
from hsuanwu_jax.core.types import LearnerState
from hsuanwu_jax.parallel.mesh import BATCH_AXIS, fetch, learner_mesh, replicate
from hsuanwu_jax.run.checkpoint_store import CheckpointStore


def stats(mean, variance, reward_range=(-1e30, 1e30)):
    """PopArt statistics; by default with a reward range so wide that no value is clipped."""
    return popart.PopArtStats(*(jnp.asarray(x) for x in (mean, variance, *reward_range)))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ((0.0, 1.0), (3.0, 16.0)),  # std 1 -> 4, mean 0 -> 3
        ((-50.0, 100.0), (10.0, 1.0)),  # std 10 -> 1: a shrinking scale
        ((2.0, 0.0), (2.5, 1e-12)),  # variances below MIN_STD^2: the clipped std on both sides
    ],
)
def test_the_rescale_preserves_unnormalised_outputs_exactly(old, new):
    rng = np.random.default_rng(0)
    features, kernel, bias = rng.normal(size=(50, 8)), rng.normal(size=(8, 1)), rng.normal(size=(1,))

    def reference_std(mean, variance):  # float64, written out here
        return np.sqrt(np.clip(variance, popart.MIN_STD**2, popart.MAX_STD**2))

    with jax.enable_x64(True):
        new_kernel, new_bias = popart.preserve_outputs(
            jnp.asarray(kernel), jnp.asarray(bias), stats(*map(np.float64, old)), stats(*map(np.float64, new))
        )
        assert new_kernel.dtype == jnp.float64
    before = reference_std(*old) * (features @ kernel + bias) + old[0]
    after = reference_std(*new) * (features @ np.asarray(new_kernel) + np.asarray(new_bias)) + new[0]
    # Each output is a sum of 8 products, scaled and shifted: a few float64 roundings of values up to
    # ~1e3, so agreement to 1e-12 relative (1e-9 absolute near zero) is exact arithmetic.
    np.testing.assert_allclose(after, before, rtol=1e-12, atol=1e-9)


def normalised_sums(s, targets, mask):
    """What the loss hands to update_stats: sums of the valid targets normalised by `s`, float64."""
    normalised = (targets - float(s.mean)) / float(popart.std(s))
    return (mask * normalised).sum(), (mask * normalised**2).sum(), float(mask.sum())


def test_the_statistics_follow_the_targets_and_normalise_them():
    rng = np.random.default_rng(1)
    s, beta = popart.initial_stats(), 0.05
    mean, variance = 0.0, 1.0
    for _ in range(400):
        targets = rng.normal(200.0, 30.0, size=64)
        mask = rng.random(64) < 0.9  # a batch's invalid steps are left out of the sums
        s = popart.update_stats(s, *normalised_sums(s, targets, mask), beta)
        mean = (1 - beta) * mean + beta * targets[mask].mean()  # in float64, from the raw targets
        variance = (1 - beta) * variance + beta * targets[mask].var()
    # float32 statistics after 400 steps of a few operations each: relative error ~400 * 6e-8 ~ 2.4e-5.
    np.testing.assert_allclose([float(s.mean), float(s.variance)], [mean, variance], rtol=1e-4)
    fresh = rng.normal(200.0, 30.0, size=100_000)
    normalised = (fresh - float(s.mean)) / float(popart.std(s))
    # Running statistics of samples drawn from N(200, 30^2): within a few standard errors of 0 and 1.
    assert abs(normalised.mean()) < 0.15 and abs(normalised.std() - 1.0) < 0.15
    unchanged = popart.update_stats(s, 0.0, 0.0, 0.0, beta)  # no valid target: nothing moves
    assert unchanged == s


@pytest.mark.parametrize(
    ("reward_range", "reward_scale", "std_floor", "floor"),
    [
        ((0.0, 0.0), 1.0, 0.1, 1.0),  # no reward seen: std kept at its start
        ((-0.5, 2.0), 1.0, 0.1, 0.2**2),  # the largest reward's magnitude counts
        ((-3.0, 0.0), 0.5, 0.2, (0.2 * 0.5 * 3.0) ** 2),  # in the targets' units: rewards x reward_scale
        ((-3.0, 2.0), 1.0, 0.0, 0.0),  # no floor
        ((0.0, 0.0), 1.0, 0.0, 0.0),
    ],
)
def test_the_variance_floor_follows_the_largest_reward_seen(reward_range, reward_scale, std_floor, floor):
    rule = popart.PopArtRule(step_size=0.01, std_floor=std_floor, reward_scale=reward_scale)
    assert float(popart.variance_floor(stats(0.0, 1.0, reward_range), rule)) == pytest.approx(floor)
    per_task = popart.PopArtStats(*(jnp.zeros(2), jnp.ones(2), jnp.array([0.0, -3.0]), jnp.array([0.0, 1.0])))
    np.testing.assert_allclose(
        popart.variance_floor(per_task, rule._replace(std_floor=0.1)), [1.0, 0.09 * reward_scale**2]
    )


def test_targets_without_spread_hold_the_floor_and_without_one_reach_min_std():
    # 2,000 batches of all-zero targets (no reward yet): the variance decays by (1 - beta) per step.
    s = kept = popart.initial_stats()
    floor = popart.variance_floor(s, popart.PopArtRule(0.01, 0.1, 1.0))
    zeros = np.zeros(64)
    for _ in range(2_000):
        s = popart.update_stats(s, *normalised_sums(s, zeros, np.ones(64, bool)), 0.01)
        kept = popart.update_stats(kept, *normalised_sums(kept, zeros, np.ones(64, bool)), 0.01, floor)
    assert float(popart.std(s)) == pytest.approx(popart.MIN_STD) and float(popart.std(kept)) == 1.0


def test_targets_that_drift_with_the_scale_do_not_inflate_it():
    """Bootstrapped targets move with the values, and an optimizer step moves the values by an amount
    proportional to std: batches of spread 30 whose mean takes random steps of 0.3 std. The variance of
    each batch keeps std near 30; the paper's running second moment minus the squared running mean counts
    the drift too and feeds it back (float64 here), std growing by orders of magnitude."""
    rng = np.random.default_rng(2)
    s, beta, centre = popart.initial_stats(), 0.01, 0.0
    paper_mean, paper_second, paper_centre = 0.0, 1.0, 0.0
    mask = np.ones(64)
    for _ in range(3000):
        centre += 0.3 * float(popart.std(s)) * rng.normal()
        s = popart.update_stats(s, *normalised_sums(s, rng.normal(centre, 30.0, size=64), mask), beta)
        paper_std = np.sqrt(max(paper_second - paper_mean**2, popart.MIN_STD**2))
        paper_centre += 0.3 * paper_std * rng.normal()
        targets = rng.normal(paper_centre, 30.0, size=64)
        paper_mean = (1 - beta) * paper_mean + beta * targets.mean()
        paper_second = (1 - beta) * paper_second + beta * (targets**2).mean()
    assert 20.0 < float(popart.std(s)) < 45.0
    assert np.sqrt(paper_second - paper_mean**2) > 1e3


def loss_and_grads(use_popart, value_stats, traj):
    _, params, loss_fn = network_params_and_loss(traj, use_popart)
    return jax.grad(loss_fn, has_aux=True)(params, traj, value_stats)


def test_popart_with_unit_statistics_is_the_plain_loss_bit_for_bit():
    traj = random_trajectory(3)
    plain_grads, plain = loss_and_grads(False, None, traj)
    unit_grads, unit = loss_and_grads(True, stats(0.0, 1.0), traj)  # mean 0, std 1, no value clipped
    for name in ("loss", "pg_loss", "baseline_loss", "entropy"):
        assert np.asarray(plain.metrics[name]) == np.asarray(unit.metrics[name]), name
    for a, b in zip(jax.tree.leaves(plain_grads), jax.tree.leaves(unit_grads), strict=True):
        np.testing.assert_array_equal(a, b)
    assert (
        plain.target_sums is None
        and float(unit.target_sums.count) == float(unit.metrics["num_transitions"]) > 0
    )


def test_popart_normalises_the_baseline_and_the_advantages():
    traj = random_trajectory(4)
    big = stats(5.0, 9.0)  # mean 5, std 3
    _, unit = loss_and_grads(True, stats(0.0, 1.0), traj)
    _, scaled = loss_and_grads(True, big, traj)
    # With std 3 the normalised head's errors and the advantages are rescaled: the losses differ, and the
    # target sums are those of V-trace targets built from 3 * n + 5.
    assert float(scaled.metrics["baseline_loss"]) != pytest.approx(float(unit.metrics["baseline_loss"]))
    assert float(scaled.target_sums.normalised_sum) != pytest.approx(float(unit.target_sums.normalised_sum))


@pytest.mark.parametrize(
    ("low", "high", "reward_scale"),
    [(-16.3, -0.01, 1.0), (-1.0, 1.0, 1.0), (0.5, 3.0, 1.0), (-30.0, 400.0, 0.1)],
)
def test_every_discounted_return_lies_within_the_value_bounds(low, high, reward_scale):
    # Rewards drawn within [low, high] (endpoints included), episodes ending at random steps: every
    # discounted return, summed backward in float64, lies within the bounds of the range the rewards span.
    rng, discount = np.random.default_rng(int(high * 10)), 0.97
    rewards = rng.uniform(low, high, size=(2000, 16))
    rewards[::97] = low
    rewards[1::89] = high
    ends = rng.random((2000, 16)) < 0.01
    returns, following = np.zeros_like(rewards), np.zeros(16)
    for t in reversed(range(len(rewards))):
        following = reward_scale * rewards[t] + discount * np.where(ends[t], 0.0, following)
        returns[t] = following
    seen = stats(0.0, 1.0, (0.0, 0.0))
    seen = popart.widen_reward_range(seen, jnp.float32(rewards.min()), jnp.float32(rewards.max()))
    lower, upper = map(float, popart.value_bounds(seen, reward_scale, discount))
    assert lower <= returns.min() and returns.max() <= upper
    # The bounds are the returns of the extreme rewards forever, and 0 (an episode ending at once).
    span = reward_scale * np.array([min(low, 0.0), max(high, 0.0)]) / (1 - discount)
    np.testing.assert_allclose([lower, upper], span, rtol=1e-5)


def test_the_loss_bootstraps_only_from_values_the_rewards_allow():
    # Statistics whose mean (5,000) lies far outside every return the rewards seen allow: V-trace must
    # bootstrap from values clipped into the bounds, so every target lies within them. Unclipped, the targets
    # would sit near 5,000 and their normalised mean near 0.
    traj = random_trajectory(6)
    rewards = np.asarray(traj.reward[1:])
    far = stats(5000.0, 1.0, (rewards.min(), rewards.max()))
    _, aux = loss_and_grads(True, far, traj)
    lower, upper = (float(x) - 5000.0 for x in popart.value_bounds(far, 1.0, 0.9))  # normalised (std 1)
    count = float(aux.metrics["num_transitions"])
    mean, mean_square = (float(s) / count for s in aux.target_sums[:2])
    assert lower - 1e-2 <= mean <= upper + 1e-2 and mean_square <= lower**2 * (1 + 1e-5)
    assert upper < -4000.0  # the bounds themselves: within about +-20 of 0, far from the statistics' mean


def test_the_learner_moves_the_statistics_and_keeps_the_value_head_outputs():
    traj = random_trajectory(5)
    network, params, loss_fn = network_params_and_loss(traj, use_popart=True)
    rate = LearningRate(0.0, 0, 10)  # no step
    optimizer = functools.partial(make_optimizer, eps=0.01, alpha=0.99, max_grad_norm=40.0)
    fns = make_update_fns(
        loss_fn=loss_fn,
        optimizer=optimizer,
        axis_name=BATCH_AXIS,
        popart_rule=popart.PopArtRule(0.5, 0.0, 1.0),
    )
    mesh = learner_mesh(jax.devices()[:1])
    state = LearnerState(
        params, optimizer(rate).init(params), jnp.zeros((), jnp.int32), stats(1.0, 4.0, (-0.5, 0.0))
    )
    new_state, metrics = data_parallel(fns.step, mesh)(replicate(state, mesh), traj, rate, np.int32(0))
    old_stats, new_stats = state.value_stats, fetch(new_state.value_stats)
    assert float(metrics["value_std"]) == pytest.approx(float(popart.std(new_stats)))
    # The statistics moved half way (step size 0.5) to the V-trace targets' mean and variance over the
    # valid steps, recovered in float64 from the loss's sums normalised by (mean 1, std 2).
    sums = loss_fn(params, traj, old_stats)[1].target_sums
    count = float(sums.count)
    normalised_mean = float(sums.normalised_sum) / count
    normalised_variance = float(sums.normalised_square_sum) / count - normalised_mean**2
    # float32 sums of ~20 normalised targets of size ~1: a few 1e-7 relative.
    np.testing.assert_allclose(
        [float(new_stats.mean), float(new_stats.variance)],
        [0.5 * 1.0 + 0.5 * (1.0 + 2.0 * normalised_mean), 0.5 * 4.0 + 0.5 * 4.0 * normalised_variance],
        rtol=1e-5,
    )

    # The reward range widened to the batch's rewards (those the targets were built from).
    rewards = np.asarray(traj.reward[1:])
    assert (float(new_stats.reward_min), float(new_stats.reward_max)) == (
        min(-0.5, rewards.min()),
        max(0.0, rewards.max()),
    )

    def values(p, s):
        out, _ = network.apply(p, traj.obs, traj.prev_action, traj.reward, traj.first, ())
        return np.asarray(popart.std(s) * out.value + s.mean, np.float64)

    # lr 0: the params change only by the rescale, which keeps V = std * n + mean. float32: values
    # ~O(3) after a 16-unit dense layer and a rescale: agreement within 1e-5 relative.
    np.testing.assert_allclose(
        values(fetch(new_state.params), new_stats), values(params, old_stats), rtol=1e-5, atol=1e-5
    )
    rescaled = rescale_value_head(params, old_stats, new_stats)
    np.testing.assert_allclose(values(rescaled, new_stats), values(params, old_stats), rtol=1e-5, atol=1e-5)


def test_the_statistics_are_checkpointed_exported_and_resumed(tmp_path):
    cfg = tiny_config(tmp_path, env_id="CartPole-v1", popart=True, popart_step_size=0.1, num_train_steps=800)
    trainer = DistributedTrainer(cfg, train_env=make_env(cfg), test_env=make_env(cfg, test=True))
    try:
        record = trainer.train()
        trained = fetch(trainer.state.value_stats)
    finally:
        trainer.close()
    assert float(trained.mean) != 0.0 and record["value_std"] == pytest.approx(float(popart.std(trained)))
    resumed = DistributedTrainer(cfg, train_env=make_env(cfg), test_env=make_env(cfg, test=True))
    try:
        assert fetch(resumed.state.value_stats) == trained
    finally:
        resumed.close()
    exported = load_policy(str(tmp_path / "export")).value_stats
    assert (float(exported.mean), float(exported.variance)) == (float(trained.mean), float(trained.variance))
    # Exports written before the variance was kept hold the second moment: 25 - 3^2 = 16; before the reward
    # range was kept, none (a fresh run's 0, 0).
    assert stats_from_json({"mean": 3.0, "second_moment": 25.0}) == stats(3.0, 16.0, (0.0, 0.0))
    assert (float(trained.reward_min), float(trained.reward_max)) == (0.0, 1.0)  # CartPole's rewards: all 1
    assert (float(exported.reward_min), float(exported.reward_max)) == (0.0, 1.0)
    off = tiny_config(tmp_path, env_id="CartPole-v1", num_train_steps=800)
    with pytest.raises(ValueError, match="config field popart=False differs from True"):
        DistributedTrainer(off, train_env=make_env(off), test_env=make_env(off, test=True))


def test_a_checkpoint_written_before_the_reward_range_was_kept_resumes(tmp_path, monkeypatch):
    # Checkpoints of 2026-11-25 hold the statistics' mean and variance and no reward range in their
    # metadata: they resume, with the range a fresh run starts from (0, 0), which the next update widens.
    cfg = tiny_config(tmp_path, env_id="CartPole-v1", popart=True, popart_step_size=0.1, num_train_steps=800)
    save = CheckpointStore.save

    def save_without_the_range(self, step, state, metadata):
        save(self, step, state, {k: v for k, v in metadata.items() if k != "popart_reward_range"})

    monkeypatch.setattr(CheckpointStore, "save", save_without_the_range)
    trainer = DistributedTrainer(cfg, train_env=make_env(cfg), test_env=make_env(cfg, test=True))
    try:
        trainer.train()
        trained = fetch(trainer.state.value_stats)
    finally:
        trainer.close()
    monkeypatch.undo()
    resumed = DistributedTrainer(cfg, train_env=make_env(cfg), test_env=make_env(cfg, test=True))
    try:
        stats_now = fetch(resumed.state.value_stats)
        assert (stats_now.mean, stats_now.variance) == (trained.mean, trained.variance)
        assert (float(stats_now.reward_min), float(stats_now.reward_max)) == (0.0, 0.0)
    finally:
        resumed.close()


def test_an_export_trained_with_popart_starts_a_plain_run_with_the_same_values(tmp_path):
    cfg = tiny_config(
        tmp_path / "a", env_id="CartPole-v1", popart=True, popart_step_size=0.2, num_train_steps=800
    )
    trainer = DistributedTrainer(cfg, train_env=make_env(cfg), test_env=make_env(cfg, test=True))
    try:
        trainer.train()
    finally:
        trainer.close()
    policy = load_policy(str(tmp_path / "a/export"))
    plain = tiny_config(tmp_path / "b", env_id="CartPole-v1", init_model_path=str(tmp_path / "a/export"))
    started = DistributedTrainer(plain, train_env=make_env(plain), test_env=make_env(plain, test=True))
    try:
        params = fetch(started.state.params)
        assert started.state.value_stats is None
    finally:
        started.close()
    obs = np.random.default_rng(0).normal(size=(1, 5, 4)).astype(np.float32)
    zeros = np.zeros((1, 5), np.float32)

    def values(p):
        out, _ = policy.network.apply(p, obs, zeros.astype(np.int32), zeros, zeros.astype(bool), ())
        return np.asarray(out.value)

    exported = float(popart.std(policy.value_stats)) * values(policy.params) + float(policy.value_stats.mean)
    # float32 values of a few units, one rescale: agreement within 1e-5.
    np.testing.assert_allclose(values(params), exported, rtol=1e-5, atol=1e-5)
