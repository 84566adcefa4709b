"""Networks: every encoder on its observations, and the LSTM's resets at episode starts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hsuanwu_jax.agent.networks import ImpalaNetwork
from hsuanwu_jax.core.distributions import DiagGaussian


def inputs(time, batch, obs_shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if dtype == np.uint8:
        obs = rng.integers(0, 256, (time, batch, *obs_shape)).astype(np.uint8)
    else:
        obs = rng.normal(size=(time, batch, *obs_shape)).astype(np.float32)
    prev_action = rng.integers(0, 6, (time, batch)).astype(np.int32)
    reward = rng.normal(size=(time, batch)).astype(np.float32)
    first = rng.random((time, batch)) < 0.3
    return obs, prev_action, reward, first


@pytest.mark.parametrize(
    "encoder, obs_shape, dtype",
    [("mlp", (4,), np.float32), ("nature_cnn", (4, 84, 84), np.uint8), ("resnet", (4, 84, 84), np.uint8)],
)
@pytest.mark.parametrize("use_lstm", [False, True])
def test_output_shapes(encoder, obs_shape, dtype, use_lstm):
    network = ImpalaNetwork(action_size=6, encoder=encoder, use_lstm=use_lstm, lstm_size=8)
    obs, prev_action, reward, first = inputs(3, 2, obs_shape, dtype)
    state = network.initial_core_state(2)
    params = network.init(jax.random.PRNGKey(0), obs, prev_action, reward, first, state)
    out, new_state = network.apply(params, obs, prev_action, reward, first, state)
    assert out.policy.shape == (3, 2, 6) and out.value.shape == (3, 2)
    assert out.policy.dtype == jnp.float32
    assert jax.tree.map(jnp.shape, new_state) == jax.tree.map(jnp.shape, state)


def test_lstm_unroll_over_episode_starts_equals_separate_unrolls():
    network = ImpalaNetwork(action_size=3, use_lstm=True, lstm_size=8, mlp_hidden_sizes=(16,))
    obs, prev_action, reward, _ = inputs(12, 2, (5,), np.float32, seed=1)
    first = np.zeros((12, 2), bool)
    first[[0, 4, 9], :] = True  # three episodes: steps 0-3, 4-8, 9-11
    start = network.initial_core_state(2)
    # Nonzero state before step 0: the reset at step 0 must discard it.
    start = jax.tree.map(lambda x: x + 0.5, start)
    params = network.init(jax.random.PRNGKey(0), obs, prev_action, reward, first, start)
    whole, _ = network.apply(params, obs, prev_action, reward, first, start)
    for begin, end in [(0, 4), (4, 9), (9, 12)]:
        part, _ = network.apply(
            params,
            obs[begin:end],
            prev_action[begin:end],
            reward[begin:end],
            first[begin:end],
            network.initial_core_state(2),
        )
        # float32, the same episode run inside a longer sequence or alone: only the order of operations in
        # batched matmuls and the LSTM differs, a few dozen epsilons (1.2e-7) of O(1) outputs.
        np.testing.assert_allclose(whole.policy[begin:end], part.policy, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(whole.value[begin:end], part.value, rtol=1e-5, atol=1e-6)
    # Without the resets the later episodes do see the earlier ones.
    leaky, _ = network.apply(params, obs, prev_action, reward, np.zeros_like(first), start)
    assert not np.allclose(leaky.value[4:], whole.value[4:])


def test_last_action_and_reward_are_inputs_but_zeroed_at_episode_starts():
    network = ImpalaNetwork(action_size=3, mlp_hidden_sizes=(8,))
    obs, prev_action, reward, _ = inputs(2, 4, (5,), np.float32)
    not_first = np.zeros((2, 4), bool)
    params = network.init(jax.random.PRNGKey(0), obs, prev_action, reward, not_first, ())
    a, _ = network.apply(params, obs, prev_action, reward, not_first, ())
    b, _ = network.apply(params, obs, (prev_action + 1) % 3, reward + 1.0, not_first, ())
    assert not np.allclose(a.value, b.value)
    first = np.ones((2, 4), bool)
    c, _ = network.apply(params, obs, prev_action, reward, first, ())
    d, _ = network.apply(params, obs, (prev_action + 1) % 3, reward + 1.0, first, ())
    np.testing.assert_allclose(c.value, d.value)


@pytest.mark.parametrize(
    "encoder, obs_shape, dtype", [("mlp", (5,), np.float32), ("nature_cnn", (4, 84, 84), np.uint8)]
)
def test_orthogonal_init_gives_orthogonal_kernels_with_the_layer_gains(encoder, obs_shape, dtype):
    network = ImpalaNetwork(
        action_size=6, encoder=encoder, mlp_hidden_sizes=(32, 16), weight_init="orthogonal"
    )
    params = network.init(jax.random.PRNGKey(3), *inputs(1, 2, obs_shape, dtype), ())["params"]
    kernels = {
        "/".join(k.key for k in path): leaf for path, leaf in jax.tree_util.tree_leaves_with_path(params)
    }
    kernels = {name: leaf for name, leaf in kernels.items() if name.endswith("kernel")}
    assert len(kernels) == (4 if encoder == "mlp" else 6)  # every hidden layer and both heads
    for name, kernel in kernels.items():
        gain = {"policy/kernel": 0.01, "baseline/kernel": 1.0}.get(name, np.sqrt(2.0))
        matrix = np.asarray(kernel, np.float64).reshape(-1, kernel.shape[-1])  # [fan_in, fan_out]
        small = min(matrix.shape)
        gram = matrix.T @ matrix if matrix.shape[0] >= matrix.shape[1] else matrix @ matrix.T
        # The kernel is orthogonal in float32: each entry is rounded by up to 6e-8 relative, so each Gram
        # entry (a dot product of unit-norm rows, times gain^2) is off by ~1e-7 * gain^2; initialisers
        # orthogonalise in float32 too (QR), a few more epsilons: 1e-5 * gain^2 is 100x that.
        np.testing.assert_allclose(gram, gain**2 * np.eye(small), atol=1e-5 * max(1.0, gain**2), err_msg=name)


def test_lecun_init_stays_flax_default_so_older_exports_rebuild_the_same_network():
    obs = inputs(1, 2, (5,), np.float32)
    default = ImpalaNetwork(action_size=3).init(jax.random.PRNGKey(0), *obs, ())
    lecun = ImpalaNetwork(action_size=3, weight_init="lecun").init(jax.random.PRNGKey(0), *obs, ())
    orthogonal = ImpalaNetwork(action_size=3, weight_init="orthogonal").init(jax.random.PRNGKey(0), *obs, ())
    assert all(jax.tree.leaves(jax.tree.map(np.array_equal, default, lecun)))
    assert not np.array_equal(default["params"]["policy"]["kernel"], orthogonal["params"]["policy"]["kernel"])


def test_the_gaussian_mean_stays_within_finite_action_bounds():
    # Bounds [-2, 2] and [0, 1] (finite) and an unbounded third dimension; head outputs pushed far out by
    # large params: the mean is centre + half-width * tanh(head), checked in float64, and the unbounded
    # dimension's mean is the head output itself.
    bounds = ((-2.0, 0.0, -np.inf), (2.0, 1.0, np.inf))
    network = ImpalaNetwork(
        action_size=3,
        distribution="diag_gaussian",
        mlp_hidden_sizes=(8,),
        action_bounds=bounds,
        action_squash="mean",
    )
    plain = ImpalaNetwork(action_size=3, distribution="diag_gaussian", mlp_hidden_sizes=(8,))
    obs = np.random.default_rng(0).normal(size=(2, 5, 4)).astype(np.float32)
    args = (jnp.zeros((2, 5, 3)), jnp.zeros((2, 5)), jnp.zeros((2, 5), bool), ())
    params = network.init(jax.random.PRNGKey(0), obs, *args)
    params = jax.tree.map(lambda x: 30.0 * x, params)  # heads far beyond +-1
    mean = network.apply(params, obs, *args)[0].policy[0]
    head = np.asarray(plain.apply(params, obs, *args)[0].policy[0], np.float64)
    assert np.abs(head[..., :2]).max() > 5.0  # the head would leave the bounds
    low, high = np.array([-2.0, 0.0]), np.array([2.0, 1.0])
    expected = (high + low) / 2 + (high - low) / 2 * np.tanh(head[..., :2])
    np.testing.assert_allclose(np.asarray(mean)[..., :2], expected, rtol=1e-6, atol=1e-6)
    assert (low <= np.asarray(mean)[..., :2]).all() and (np.asarray(mean)[..., :2] <= high).all()
    np.testing.assert_array_equal(np.asarray(mean)[..., 2], np.asarray(head[..., 2], np.float32))


def test_squashed_samples_leave_the_mean_unbounded_and_send_actions_within_the_bounds():
    # action_squash="sample": the mean is the head's output however far out; the env receives
    # centre + half-width * tanh(action) where the bounds are finite (float64 reference) and the action
    # itself where they are not; the network reads the last action as tanh(action).
    bounds = ((-2.0, 0.0, -np.inf), (2.0, 1.0, np.inf))
    kwargs = dict(action_size=3, distribution="diag_gaussian", mlp_hidden_sizes=(8,))
    network = ImpalaNetwork(**kwargs, action_bounds=bounds, action_squash="sample")
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(2, 5, 4)).astype(np.float32)
    prev_action = rng.normal(scale=3.0, size=(2, 5, 3)).astype(np.float32)
    args = (jnp.zeros((2, 5)), jnp.zeros((2, 5), bool), ())
    params = jax.tree.map(lambda x: 30.0 * x, network.init(jax.random.PRNGKey(0), obs, prev_action, *args))
    mean = np.asarray(network.apply(params, obs, prev_action, *args)[0].policy[0])
    unbounded = ImpalaNetwork(**kwargs, action_bounds=None, action_squash="sample")
    feeding_tanh = unbounded.apply(params, obs, np.tanh(prev_action), *args)[0].policy[0]
    np.testing.assert_allclose(mean, np.asarray(feeding_tanh), rtol=1e-6, atol=1e-5)
    assert np.abs(mean[..., :2]).max() > 5.0  # far beyond the bounds: nothing squashes the mean
    action = rng.normal(scale=3.0, size=(7, 3)).astype(np.float32)
    sent = np.asarray(network.env_action(action), np.float64)
    low, high = np.array([-2.0, 0.0]), np.array([2.0, 1.0])
    expected = (high + low) / 2 + (high - low) / 2 * np.tanh(action[:, :2].astype(np.float64))
    np.testing.assert_allclose(sent[:, :2], expected, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(sent[:, 2], action[:, 2])


def test_a_mean_pushed_against_its_bound_can_come_back_only_when_samples_are_squashed():
    # The mechanism behind Hopper's stuck policies (RESULTS.md, "MuJoCo: the bounded mean's saturation"):
    # a head output at 6 puts a tanh-bounded mean at 0.99999; a sample below it with a positive advantage
    # asks for a lower mean, but d log pi / d head = (a - mean) / std^2 * (1 - tanh(head)^2) is ~1e-5 of
    # what the same sample gives a Gaussian whose mean is the head itself (action_squash="sample").
    bounds = ((-1.0,), (1.0,))
    obs = np.ones((1, 1, 3), np.float32)
    args = (np.zeros((1, 1, 1), np.float32), np.zeros((1, 1), np.float32), np.zeros((1, 1), bool), ())

    def head_gradient(action_squash):
        network = ImpalaNetwork(
            action_size=1,
            distribution="diag_gaussian",
            mlp_hidden_sizes=(4,),
            action_bounds=bounds,
            action_squash=action_squash,
        )
        params = network.init(jax.random.PRNGKey(0), obs, *args)
        params["params"]["policy"]["bias"] = jnp.full((1,), 6.0)  # the head's output ~6

        def log_prob(bias):
            p = {
                **params,
                "params": {**params["params"], "policy": {**params["params"]["policy"], "bias": bias}},
            }
            policy = network.apply(p, obs, *args)[0].policy
            mean = np.tanh(6.0) if action_squash == "mean" else 6.0
            return DiagGaussian.log_prob(policy, jnp.full((1, 1, 1), mean - 0.5))[0, 0]

        return float(jax.grad(log_prob)(params["params"]["policy"]["bias"])[0])

    squashed_samples, squashed_mean = head_gradient("sample"), head_gradient("mean")
    assert squashed_samples < -0.4  # pulls the mean back: (a - mean) / std^2 with a std near 1
    assert -1e-4 < squashed_mean < 0  # the same sign, but tanh's flat part leaves nothing of it


@pytest.mark.parametrize("distribution", ["categorical", "diag_gaussian"])
def test_a_separate_value_network_shares_no_params_with_the_policy(distribution):
    # With value_network="separate" the value's gradient is zero for every policy param (torso and head) and
    # the policy's is zero for the value's; with "shared" the value's gradient reaches the policy's torso.
    obs, prev_action, reward, first = inputs(3, 4, (5,), np.float32)
    if distribution == "diag_gaussian":
        prev_action = np.random.default_rng(1).normal(size=(3, 4, 2)).astype(np.float32)

    def gradients(value_network):
        network = ImpalaNetwork(
            action_size=2, distribution=distribution, mlp_hidden_sizes=(8, 8), value_network=value_network
        )
        params = network.init(jax.random.PRNGKey(0), obs, prev_action, reward, first, ())

        def part(name):
            def f(p):
                out = network.apply(p, obs, prev_action, reward, first, ())[0]
                return (
                    jnp.sum(out.value)
                    if name == "value"
                    else sum(jnp.sum(x) for x in jax.tree.leaves(out.policy))
                )

            return jax.grad(f)(params)["params"]

        return part("value"), part("policy")

    value_grads, policy_grads = gradients("separate")
    assert set(value_grads) >= {"encoder", "value_encoder", "policy", "baseline"}
    for name in ("encoder", "policy"):
        assert all(np.all(np.asarray(g) == 0) for g in jax.tree.leaves(value_grads[name])), name
    for name in ("value_encoder", "baseline"):
        assert all(np.all(np.asarray(g) == 0) for g in jax.tree.leaves(policy_grads[name])), name
        assert any(np.any(np.asarray(g) != 0) for g in jax.tree.leaves(value_grads[name])), name
    shared_value_grads, _ = gradients("shared")
    assert "value_encoder" not in shared_value_grads
    assert any(np.any(np.asarray(g) != 0) for g in jax.tree.leaves(shared_value_grads["encoder"]))


def test_the_networks_parts_know_exactly_the_names_the_config_accepts():
    from hsuanwu_jax.agent import encoders, networks, policy_heads
    from hsuanwu_jax.config import fields
    from hsuanwu_jax.core.distributions import DISTRIBUTIONS

    assert tuple(networks.ENCODER_MODULES) == fields.ENCODERS
    assert tuple(networks.POLICY_HEADS) == DISTRIBUTIONS
    assert tuple(encoders.KERNEL_INITS) == tuple(networks.GAUSSIAN_MEAN_INITS) == fields.WEIGHT_INITS
    assert tuple(networks.SEPARATE_VALUE_TORSO) == fields.RESOLVED_VALUE_NETWORKS
    assert set(fields.ACTION_SQUASHES) < set(policy_heads.ACTION_BOUNDING)
    with pytest.raises(ValueError, match="encoder='vit' is not a network this version builds"):
        networks.compose(ImpalaNetwork(action_size=2, encoder="vit"))
    with pytest.raises(ValueError, match="obs_norm needs the mlp encoder"):
        networks.compose(ImpalaNetwork(action_size=2, encoder="nature_cnn", obs_norm=True))
