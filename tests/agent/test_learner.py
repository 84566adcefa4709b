"""The jitted learner step: it learns on a fixed batch, compiles once, and shares nothing with actors."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import learner_setup, random_trajectory

from hsuanwu_jax.agent.data_parallel import DataParallelUpdate
from hsuanwu_jax.agent.losses import LossHyperParams, make_impala_loss
from hsuanwu_jax.agent.networks import ImpalaNetwork
from hsuanwu_jax.agent.optim import LearningRate, make_optimizer
from hsuanwu_jax.agent.update import env_chunk, make_update_fns
from hsuanwu_jax.core.distributions import Categorical
from hsuanwu_jax.core.types import LearnerState
from hsuanwu_jax.parallel.mesh import BATCH_AXIS, learner_mesh, replicate, shard_trajectory


def test_updates_fit_the_values_and_compile_once():
    step, state, traj, mesh, loss_fn, traces = learner_setup()
    # The IMPALA loss has moving targets, so its value need not fall; the value fit on a fixed batch must.
    before = float(loss_fn(state.params, traj)[1].metrics["baseline_loss"])
    for _ in range(20):
        state, metrics = step(state, shard_trajectory(traj, mesh))
    after = float(loss_fn(state.params, traj)[1].metrics["baseline_loss"])
    assert after < 0.5 * before
    assert int(state.update_step) == 20
    assert len(traces) == 1
    assert set(metrics) >= {"loss", "pg_loss", "baseline_loss", "entropy", "num_transitions", "grad_norm"}


@pytest.mark.parametrize("num_chunks", [1, 3])
def test_epochs_are_optimizer_steps_on_one_batch_counted_as_one_update(num_chunks):
    # num_epochs=3: the same params and optimizer state as three one-pass updates on the same batch (each
    # pass recomputes the loss with the params the last one left), but one update counted, and the
    # observation statistics take the batch in once.
    setup = functools.partial(learner_setup, envs_per_copy=3, num_chunks=num_chunks, obs_norm=True)
    passes, state, traj, mesh, _, _ = setup(num_epochs=3)
    single, single_state, _, _, _, _ = setup(num_epochs=1)
    batch = shard_trajectory(traj, mesh)
    state, metrics = passes(state, batch)
    single_state, _ = single(single_state, batch)
    stats_once = jax.device_get(single_state.params["obs_stats"])
    for _ in range(2):
        single_state, single_metrics = single(single_state, batch)
    assert int(state.update_step) == 1 and int(single_state.update_step) == 3
    # float32, the same operations in the same order: equal up to XLA's fusion choices (a few epsilons).
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
        jax.device_get((state.params["params"], state.opt_state, metrics["loss"])),
        jax.device_get((single_state.params["params"], single_state.opt_state, single_metrics["loss"])),
    )
    obs_stats = jax.device_get(state.params["obs_stats"])
    jax.tree.map(np.testing.assert_array_equal, obs_stats, stats_once)
    assert float(obs_stats["count"]) < float(single_state.params["obs_stats"]["count"])  # merged once, not 3x


@pytest.mark.parametrize("num_chunks", [1, 2])
def test_minibatches_are_optimizer_steps_on_shares_of_the_batch(num_chunks):
    # num_minibatches=2, num_epochs=2: four optimizer steps, on envs 0-3 then 4-7 of the batch, twice (each
    # recomputing the loss with the params the last one left), counted as one update: the same params and
    # optimizer state as four one-pass updates on the halves in that order.
    setup = functools.partial(learner_setup, envs_per_copy=4, copies_differ=True)
    steps, state, traj, mesh, _, traces = setup(num_chunks=num_chunks, num_epochs=2, num_minibatches=2)
    single, single_state, _, _, _, _ = setup()
    halves = [shard_trajectory(env_chunk(traj, k, 2), mesh) for k in range(2)]
    state, metrics = steps(state, shard_trajectory(traj, mesh))
    for half in halves * 2:
        single_state, single_metrics = single(single_state, half)
    assert int(state.update_step) == 1 and int(single_state.update_step) == 4
    assert len(traces) == 1  # one program for every step
    # float32, the same operations in the same order: equal up to XLA's fusion choices (a few epsilons).
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
        jax.device_get((state.params, state.opt_state, metrics["loss"])),
        jax.device_get((single_state.params, single_state.opt_state, single_metrics["loss"])),
    )


def test_minibatches_take_each_observation_into_the_statistics_once():
    # The observation statistics take each minibatch in during the first pass only: after one update of 2
    # passes over 2 minibatches they are those of one-pass updates on the two halves.
    setup = functools.partial(learner_setup, envs_per_copy=4, copies_differ=True, obs_norm=True)
    steps, state, traj, mesh, _, _ = setup(num_epochs=2, num_minibatches=2)
    single, single_state, _, _, _, _ = setup()
    state, _ = steps(state, shard_trajectory(traj, mesh))
    for k in range(2):
        single_state, _ = single(single_state, shard_trajectory(env_chunk(traj, k, 2), mesh))
    stats, expected = jax.device_get((state.params["obs_stats"], single_state.params["obs_stats"]))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), stats, expected)
    # The first half places the statistics (counted 0, obs_norm.merge), the second is counted: one half's
    # observations, where the second pass taking them in again would have made three halves.
    assert float(stats["count"]) == traj.obs[1:].shape[0] * traj.obs.shape[1] / 2


def test_matches_an_unjitted_optax_update():
    step, state, traj, mesh, loss_fn, _ = learner_setup()
    params = jax.tree.map(np.array, state.params)
    optimizer = make_optimizer(LearningRate(1e-2, 0, 100), eps=0.01, alpha=0.99, max_grad_norm=40.0)
    grads = jax.grad(lambda p: loss_fn(p, traj)[0])(params)
    updates, _ = optimizer.update(grads, optimizer.init(params), params)
    expected = optax.apply_updates(params, updates)
    new_state, _ = step(state, shard_trajectory(traj, mesh))
    # Both float32, jitted and sharded vs eager: reordered sums only. RMSProp's step changes by at most
    # lr / eps (= 1 here) per unit change of a gradient, so the params differ by a few dozen float32
    # epsilons (1.2e-7) of the gradients' size: rtol 1e-5, and atol 1e-6 for params near zero.
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), new_state.params, expected
    )


def test_rmsprop_is_pytorch_style():
    """One step by hand: v = (1 - alpha) g^2, update = -lr g / (sqrt(v) + eps)."""
    optimizer = make_optimizer(LearningRate(0.1, 0, 10), eps=0.01, alpha=0.99, max_grad_norm=1e9)
    g = jnp.array([0.5, -2.0])
    updates, _ = optimizer.update(g, optimizer.init(g))
    expected = -0.1 * g / (np.sqrt(0.01 * g**2) + 0.01)
    np.testing.assert_allclose(updates, expected, rtol=1e-6)  # 4 float32 operations: a few epsilons (1.2e-7)
    # The learning rate falls linearly: update k of num_updates = 10 uses lr * (1 - k / 10).
    state = optimizer.init(g)
    for _ in range(10):
        updates, state = optimizer.update(g, state)
    assert np.all(np.abs(np.asarray(updates)) > 0.0)  # the 10th update still moves (lr / 10)
    updates, _ = optimizer.update(g, state)
    assert np.all(np.asarray(updates) == 0.0)  # and after num_updates the rate is zero


def test_learning_rate_warm_up_then_linear_decay():
    """Against a float64 loop: lr_k = lr * k / W for k < W, then lr * (1 - (k - W) / (N - W)); RMSProp's
    v_k = alpha v_{k-1} + (1 - alpha) g^2 and update_k = -lr_k g / (sqrt(v_k) + eps)."""
    lr, eps, alpha, warmup, num_updates = 0.1, 0.01, 0.99, 4, 12
    optimizer = make_optimizer(LearningRate(lr, warmup, num_updates), eps=eps, alpha=alpha, max_grad_norm=1e9)
    g = jnp.array([0.5, -2.0])
    state, v = optimizer.init(g), np.zeros(2)
    for k in range(num_updates + 1):
        updates, state = optimizer.update(g, state)
        rate = lr * k / warmup if k < warmup else lr * max(0.0, 1 - (k - warmup) / (num_updates - warmup))
        v = alpha * v + (1 - alpha) * np.asarray(g, np.float64) ** 2
        # float32 against this float64 loop over 13 steps: v's running average and the schedule each add
        # a float32 epsilon (1.2e-7) per step at most, 13 steps of a few ops: rtol 1e-5. The updates past
        # num_updates are exactly 0 in both (rate 0): atol 1e-9 only absorbs the float32 cast of 0.0 * g.
        np.testing.assert_allclose(updates, -rate * np.asarray(g) / (np.sqrt(v) + eps), rtol=1e-5, atol=1e-9)


def test_chunked_gradients_give_the_same_update():
    """learner_chunks splits the batch along B and adds the pieces' gradients (one compiled program of
    `chunks_per_call` pieces, called once per group): the same update, also for an LSTM whose initial states
    (random here, so a wrong split would show) are split with the batch. Over several devices:
    tests/test_scale_out.py."""
    network = ImpalaNetwork(action_size=4, mlp_hidden_sizes=(16,), use_lstm=True, lstm_size=8)
    pieces = [random_trajectory(seed) for seed in range(3)]
    traj = jax.tree.map(lambda *xs: np.concatenate(xs, axis=1), *pieces)  # B = 9 envs
    rng = np.random.default_rng(7)
    core = jax.tree.map(
        lambda x: rng.normal(size=x.shape).astype(np.float32), network.initial_core_state(traj.obs.shape[1])
    )
    traj = traj._replace(initial_core_state=core)
    params = network.init(jax.random.PRNGKey(0), traj.obs, traj.prev_action, traj.reward, traj.first, core)
    rate = LearningRate(1e-2, 0, 10)
    optimizer = functools.partial(make_optimizer, eps=0.01, alpha=0.99, max_grad_norm=40.0)
    loss_fn = make_impala_loss(
        apply_fn=network.apply,
        distribution=Categorical,
        hyper=LossHyperParams(discount=0.9, baseline_coef=0.5, ent_coef=0.01),
    )
    mesh = learner_mesh(jax.devices()[:1])
    results, traces = {}, {}
    for num_chunks, per_call in ((1, 1), (3, 1), (9, 1), (9, 3)):
        traces[num_chunks, per_call] = []
        counted_loss = lambda *args, t=traces[num_chunks, per_call]: t.append(1) or loss_fn(*args)  # noqa: E731
        fns = make_update_fns(
            loss_fn=counted_loss,
            optimizer=optimizer,
            axis_name=BATCH_AXIS,
            num_chunks=num_chunks,
            chunks_per_call=per_call,
        )
        step = DataParallelUpdate(fns, mesh, rate)
        state = replicate(LearnerState(params, optimizer(rate).init(params), jnp.zeros((), jnp.int32)), mesh)
        for _ in range(3):
            state, metrics = step(state, shard_trajectory(traj, mesh))
        results[num_chunks, per_call] = jax.device_get((state.params, metrics))
    # The loss is traced once, whatever the pieces: one piece's gradients are one traced function that the
    # program calls for each piece (tracing a ResNet's backward pass 8 times took seconds of every start).
    assert {key: len(t) for key, t in traces.items()} == {(1, 1): 1, (3, 1): 1, (9, 1): 1, (9, 3): 1}
    for key in set(results) - {(1, 1)}:
        jax.tree.map(
            # float32 sums of the same per-env gradients grouped into chunks: reordering only, carried
            # through 3 RMSProp updates (each at most lr / eps = 1 per unit of gradient error): twice the
            # single-update bound of test_matches_an_unjitted_optax_update.
            lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6),
            results[key],
            results[1, 1],
        )
    with pytest.raises(ValueError, match="cannot be cut into 4 equal chunks"):
        env_chunk(traj, 0, 4)
    # The split itself is what makes this test able to fail: a shuffled split would change the loss.
    wrong = jax.tree.map(lambda x: x[::-1], core)
    assert not np.isclose(
        float(loss_fn(params, traj._replace(initial_core_state=wrong))[0]), float(loss_fn(params, traj)[0])
    )


@pytest.mark.parametrize("num_chunks", [1, 3])
def test_an_update_compiled_ahead_runs_without_tracing_or_compiling_again(num_chunks, caplog):
    """The training loop compiles the update while the actors compile their rollouts: the first update
    must then run what was compiled (no new trace, no new compilation) and equal an update not compiled ahead."""
    step, state, traj, mesh, _, traces = learner_setup(num_chunks=num_chunks)
    sharded = shard_trajectory(traj, mesh)
    step.compile(state, sharded)
    assert traces  # the loss was traced ahead
    traced_ahead = len(traces)
    jax.config.update("jax_log_compiles", True)
    try:
        with caplog.at_level("WARNING"):
            new_state, metrics = step(state, sharded)
            jax.block_until_ready(new_state)
    finally:
        jax.config.update("jax_log_compiles", False)
    assert len(traces) == traced_ahead
    assert not [r for r in caplog.records if r.getMessage().startswith("Compiling")]
    other_step, other_state, *_ = learner_setup(num_chunks=num_chunks)
    expected = other_step(other_state, sharded)
    jax.tree.map(
        np.testing.assert_array_equal, jax.device_get((new_state, metrics)), jax.device_get(expected)
    )


@pytest.mark.parametrize("num_chunks", [1, 3])
def test_runs_that_differ_in_learning_rate_or_length_compile_the_same_programs(num_chunks):
    """The `LearningRate` is an argument of the update's programs, not a constant in them: a run with another
    lr, warm-up or num_train_steps (a resume that extends a run, a short run that filled the cache) lowers
    to the same programs, which the persistent compilation cache then finds."""
    texts = []
    for rate in (LearningRate(1e-2, 0, 100), LearningRate(3e-3, 5, 7_000)):
        step, state, traj, mesh, *_ = learner_setup(rate, num_chunks=num_chunks)
        texts.append([program.as_text() for program in step.lower(state, shard_trajectory(traj, mesh))])
    assert len(texts[0]) == (1 if num_chunks == 1 else 3)
    assert texts[0] == texts[1]


def test_the_learning_rate_given_as_values_is_the_schedule():
    """The schedule with traced values (as the learner's programs take it) against float64 formulas, over
    the warm-up, the decay and past its end, with and without a warm-up."""
    for peak, warmup, num_updates in ((0.1, 4, 12), (3e-3, 0, 10)):
        rate = LearningRate(peak, warmup, num_updates).as_arrays()
        counts = np.arange(num_updates + 3, dtype=np.int32)
        traced = np.asarray(jax.jit(jax.vmap(lambda k, r=rate: r(k)))(counts))
        expected = [
            peak * k / warmup if k < warmup else peak * max(0.0, 1 - (k - warmup) / (num_updates - warmup))
            for k in counts
        ]
        # float32 against float64: one division and one multiply-add, a few float32 epsilons (1.2e-7) of peak.
        np.testing.assert_allclose(traced, expected, rtol=1e-6, atol=1e-6 * peak)
        assert traced[num_updates:].tolist() == [0.0] * 3
