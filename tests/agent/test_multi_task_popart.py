"""Per-task PopArt (Hessel et al. 2019): one value output and one set of statistics per task, selected by each
env's task index; against float64 NumPy and against single-task PopArt on each task's envs alone."""

import jax
import jax.numpy as jnp
import numpy as np
from helpers import ENV_TASKS, STATS, learner, mixed_batch

from hsuanwu_jax.agent.losses import LossHyperParams, make_impala_loss
from hsuanwu_jax.agent.networks import VALUE_HEAD
from hsuanwu_jax.core import popart
from hsuanwu_jax.core.distributions import Categorical


def column(params, k):
    """Single-task params with the value head's output k of multi-task `params`."""
    head = params["params"][VALUE_HEAD]
    single = {"kernel": head["kernel"][:, k : k + 1], "bias": head["bias"][k : k + 1]}
    return {**params, "params": {**params["params"], VALUE_HEAD: single}}


def single_task_update(params, traj, k):
    """Single-task PopArt's update on the envs of task k alone, from task k's value output and statistics;
    and those envs' rewards the targets are built from."""
    _, _, single_run = learner(num_tasks=1)
    envs = k == ENV_TASKS
    alone = jax.tree.map(lambda x: x[:, envs], traj)
    alone = alone._replace(task=np.zeros_like(alone.task))
    stats = popart.PopArtStats(*(field[k] for field in STATS))
    return single_run(column(params, k), stats, alone), traj.reward[1:, envs]


def test_the_per_task_rescale_preserves_each_tasks_outputs_exactly():
    rng = np.random.default_rng(1)
    features, kernel, bias = rng.normal(size=(50, 8)), rng.normal(size=(8, 3)), rng.normal(size=(3,))
    old = (np.array([0.0, -50.0, 2.0]), np.array([1.0, 100.0, 0.0]))
    new = (np.array([3.0, 10.0, 2.5]), np.array([16.0, 1.0, 1e-12]))  # grows, shrinks, below MIN_STD

    def reference_std(variance):  # float64, written out here
        return np.sqrt(np.clip(variance, popart.MIN_STD**2, popart.MAX_STD**2))

    def as_stats(mean, variance):
        return popart.PopArtStats(*map(jnp.asarray, (mean, variance, np.zeros(3), np.zeros(3))))

    with jax.enable_x64(True):
        new_kernel, new_bias = popart.preserve_outputs(
            jnp.asarray(kernel), jnp.asarray(bias), as_stats(*old), as_stats(*new)
        )
        assert new_kernel.dtype == jnp.float64 and new_kernel.shape == (8, 3)
    before = reference_std(old[1]) * (features @ kernel + bias) + old[0]  # [50, 3]: task k in column k
    after = reference_std(new[1]) * (features @ np.asarray(new_kernel) + np.asarray(new_bias)) + new[0]
    # As for one task (test_popart.py): a few float64 roundings of values up to ~1e3.
    np.testing.assert_allclose(after, before, rtol=1e-12, atol=1e-9)


def test_each_tasks_statistics_follow_its_own_targets_only():
    """A batch of tasks 0 and 2: each task's statistics and value output move as single-task PopArt's would on
    that task's envs alone (its own V-trace targets and rewards, nothing of the other's); task 1, absent,
    keeps its statistics exactly; every task's values are preserved (lr 0: only the rescale moves them)."""
    network, params, run = learner(num_tasks=3)
    traj = mixed_batch()
    new = run(params, STATS, traj)
    for k in (0, 2):
        single, rewards = single_task_update(params, traj, k)
        # float32 sums over the same targets in another order: a few 1e-7 relative.
        for multi, one in zip(new.value_stats, single.value_stats, strict=True):
            np.testing.assert_allclose(multi[k], one, rtol=1e-5)
        np.testing.assert_allclose(
            column(new.params, k)["params"][VALUE_HEAD]["kernel"],
            single.params["params"][VALUE_HEAD]["kernel"],
            rtol=1e-5,
        )
        assert float(new.value_stats.reward_min[k]) == min(float(STATS.reward_min[k]), rewards.min())
        assert float(new.value_stats.reward_max[k]) == max(float(STATS.reward_max[k]), rewards.max())
    jax.tree.map(lambda moved, kept: np.testing.assert_array_equal(moved[1], kept[1]), new.value_stats, STATS)
    assert not np.allclose(new.value_stats.mean[np.array([0, 2])], STATS.mean[np.array([0, 2])])

    def values(p, stats):  # [T+1, B, 3]: every task's value for every env
        out, _ = network.apply(p, traj.obs, traj.prev_action, traj.reward, traj.first, ())
        return np.asarray(popart.std(stats) * out.value + stats.mean, np.float64)

    # float32 values ~O(10) through a 16-unit layer and a rescale: 1e-5 relative.
    np.testing.assert_allclose(
        values(new.params, new.value_stats), values(params, STATS), rtol=1e-5, atol=1e-4
    )


def test_the_loss_takes_each_envs_value_from_its_tasks_output():
    """With unit statistics PopArt is the plain loss (test_popart.py); with K outputs, env b's baseline is
    output task[b]: the same loss as a one-output network whose output is, env by env, that column."""
    network, params, _ = learner(num_tasks=3)
    traj = mixed_batch()
    loss_fn = make_impala_loss(
        apply_fn=network.apply,
        distribution=Categorical,
        hyper=LossHyperParams(discount=0.9, baseline_coef=0.5, ent_coef=0.01),
    )
    loss, _ = loss_fn(params, traj)
    out, _ = network.apply(params, traj.obs, traj.prev_action, traj.reward, traj.first, ())
    chosen = np.take_along_axis(np.asarray(out.value), traj.task[..., None], axis=-1)[..., 0]

    def fixed_values(*args):
        output, state = network.apply(*args)
        return output._replace(value=jnp.asarray(chosen)), state

    plain = make_impala_loss(
        apply_fn=fixed_values,
        distribution=Categorical,
        hyper=LossHyperParams(discount=0.9, baseline_coef=0.5, ent_coef=0.01),
    )
    np.testing.assert_allclose(float(loss), float(plain(params, traj)[0]), rtol=1e-6)
    # and a different choice of columns gives a different loss: the task index is read
    other = traj._replace(task=(traj.task + 1) % 3)
    assert abs(float(loss_fn(params, other)[0]) - float(loss)) > 1e-3
