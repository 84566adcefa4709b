"""The IMPALA network: an encoder (encoders.py), the optional LSTM core, a policy head (policy_heads.py) and the
value head.

Every network is time-major: inputs are `[T, B, ...]` (the actor passes T = 1, the learner T + 1). An
`ImpalaNetwork` is described by names (its fields: what exports store); `compose` turns them into its parts once
(an encoder, an optional value torso and LSTM core, a policy head), and the network's `__call__` only runs them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from hsuanwu_jax.agent.encoders import (
    KERNEL_INITS,
    MLPEncoder,
    NatureCNN,
    ResettingLSTM,
    ResNetEncoder,
    kernel_init,
)
from hsuanwu_jax.agent.policy_heads import ACTION_BOUNDING, CategoricalHead, GaussianHead
from hsuanwu_jax.core import obs_norm
from hsuanwu_jax.core.types import CoreState

VALUE_HEAD = "baseline"  # the name of the value head's last layer in the params


class NetworkOutput(NamedTuple):
    policy: Any  # the distribution's parameters: logits [T, B, A], or (mean, log_std) each [T, B, A]
    value: jax.Array  # [T, B] float32; [T, B, K] with K > 1 tasks (one value output each)


class Encoder(NamedTuple):
    """An observation encoder `[N, ...] -> [N, D]` and the observations it takes."""

    make: Callable[[ImpalaNetwork, str], nn.Module]  # (the network, the module's name) -> the module
    takes_vectors: bool  # vectors (observation normalisation applies), not uint8 frames


ENCODER_MODULES = {
    "mlp": Encoder(lambda net, name: MLPEncoder(net.mlp_hidden_sizes, net.weight_init, name=name), True),
    "nature_cnn": Encoder(lambda net, name: NatureCNN(net.weight_init, name=name), False),
    "resnet": Encoder(lambda net, name: ResNetEncoder(weight_init=net.weight_init, name=name), False),
}


POLICY_HEADS = {
    "categorical": lambda net: CategoricalHead(net.action_size, kernel_init(net.weight_init, 0.01)),
    # Gaussian means start near 0 under LeCun init too, so that the first samples are not pushed against the
    # action bounds.
    "diag_gaussian": lambda net: GaussianHead(
        net.action_size,
        GAUSSIAN_MEAN_INITS[net.weight_init],
        net.initial_action_std,
        net.action_bounds,
        net.action_squash,
    ),
}
GAUSSIAN_MEAN_INITS = {
    "lecun": nn.initializers.variance_scaling(0.01, "fan_in", "truncated_normal"),
    "orthogonal": nn.initializers.orthogonal(0.01),
}
# value_network -> whether the value head reads a torso of its own (the encoder's kind, named "value_encoder")
SEPARATE_VALUE_TORSO = {"shared": False, "separate": True}


class Parts(NamedTuple):
    """An `ImpalaNetwork`'s variants, chosen from its names by `compose`."""

    encoder: Encoder
    value_torso: bool  # the value head reads a second encoder of the same kind ("value_encoder")
    head: CategoricalHead | GaussianHead


def compose(net: ImpalaNetwork) -> Parts:
    """The parts `net`'s names choose (a ValueError names one that is not known)."""
    for field, known in (
        ("encoder", ENCODER_MODULES),
        ("distribution", POLICY_HEADS),
        ("weight_init", KERNEL_INITS),
        ("value_network", SEPARATE_VALUE_TORSO),
        ("action_squash", ACTION_BOUNDING),
    ):
        if getattr(net, field) not in known:
            raise ValueError(
                f"{field}={getattr(net, field)!r} is not a network this version builds: {tuple(known)}"
            )
    encoder = ENCODER_MODULES[net.encoder]
    if net.obs_norm and not encoder.takes_vectors:
        raise ValueError(f"obs_norm needs the mlp encoder (vector observations), not {net.encoder!r}")
    return Parts(encoder, SEPARATE_VALUE_TORSO[net.value_network], POLICY_HEADS[net.distribution](net))


class ImpalaNetwork(nn.Module):
    """Encoder, then [features, last action, clipped last reward] -> optional LSTM -> heads.

    Described by names, composed into its parts by `compose`:
    `distribution` "categorical": `action_size` discrete actions, the last one fed one-hot, the policy head gives
    logits. "diag_gaussian": actions are vectors of `action_size`, the head gives a mean and a state-independent
    log standard deviation (initially log `initial_action_std`).
    `weight_init` "lecun" is Flax's default; "orthogonal" is orthogonal with gain sqrt(2) for the hidden layers,
    0.01 for the policy head and 1 for the value head (the LSTM keeps its own).
    `value_network` "shared": the value head reads the policy's features (the IMPALA paper's network);
    "separate" (mlp encoder, no LSTM): the value head reads a second torso of the same kind, so the value
    regression's gradients never reach the policy's features. On tasks whose returns start far from the
    value head's initial outputs, those gradients inflated the shared features within a few updates and
    saturated the policy's logits (benchmarks/RESULTS.md, "Early collapse").
    `obs_norm` (mlp encoder): observations are normalised by running statistics held in the variables'
    `obs_stats` collection (obs_norm.py), which the learner updates; they take no gradient.
    `action_bounds` `(low, high)`, each `action_size` floats, and `action_squash` say what the env receives
    (`env_action`), in each dimension with finite bounds. "sample": centre + half-width * tanh(sample), the
    greedy action the same of the mean; the Gaussian lives before the squashing, so its log-probabilities
    (and V-trace's ratios) are those of the unsquashed samples and its mean is unbounded; the entropy bonus
    is the squashed actions' (distributions.SquashedGaussian). "mean": the mean
    itself is centre + half-width * tanh(head output) and samples are clipped to the bounds; where the
    policy gradient pushes a mean towards a bound, the head's output grows until tanh is flat and the mean
    can no longer come back (benchmarks/RESULTS.md, "MuJoCo: the bounded mean's saturation").
    """

    action_size: int
    distribution: str = "categorical"  # a key of POLICY_HEADS (core.distributions.DISTRIBUTIONS)
    encoder: str = "mlp"  # a key of ENCODER_MODULES (config.fields.ENCODERS)
    mlp_hidden_sizes: Sequence[int] = (64, 64)
    use_lstm: bool = False
    lstm_size: int = 256
    value_network: str = "shared"  # a key of SEPARATE_VALUE_TORSO (config.fields.RESOLVED_VALUE_NETWORKS)
    obs_norm: bool = False
    action_squash: str = "mean"  # "sample" or "mean" (config.fields.ACTION_SQUASHES): ACTION_BOUNDING
    initial_action_std: float = 1.0
    weight_init: str = "lecun"  # a key of KERNEL_INITS (config.fields.WEIGHT_INITS)
    action_bounds: tuple[tuple[float, ...], tuple[float, ...]] | None = None
    num_tasks: int = 1  # value outputs: one per task (multi-task PopArt), the policy shared

    def initial_core_state(self, batch_size: int) -> CoreState:
        """The core's state before any observation: `(c, h)` zeros `[B, lstm_size]`, or `()`."""
        if not self.use_lstm:
            return ()
        zeros = jnp.zeros((batch_size, self.lstm_size), jnp.float32)
        return (zeros, zeros)

    @nn.compact
    def __call__(
        self,
        obs: jax.Array,
        prev_action: jax.Array,
        reward: jax.Array,
        first: jax.Array,
        core_state: CoreState,
    ) -> tuple[NetworkOutput, CoreState]:
        """obs `[T, B, ...]`, prev_action `[T, B]` int or `[T, B, A]` float, reward `[T, B]`, first `[T, B]` bool.

        Returns per-step policy logits and values, and the core state after step T - 1.
        """
        parts = compose(self)
        time, batch = obs.shape[:2]
        flat_obs = obs.reshape(time * batch, *obs.shape[2:])
        if self.obs_norm:
            flat_obs = obs_norm.normalise(self._obs_stats(flat_obs.shape), flat_obs.reshape(time * batch, -1))
        features = parts.encoder.make(self, "encoder")(flat_obs).reshape(time, batch, -1)
        not_first = 1.0 - first.astype(jnp.float32)
        last_action = parts.head.last_action(prev_action) * not_first[..., None]
        last_reward = jnp.clip(reward, -1.0, 1.0)[..., None] * not_first[..., None]
        x = jnp.concatenate([features, last_action, last_reward], axis=-1)
        value_input = x
        if parts.value_torso:
            value_features = parts.encoder.make(self, "value_encoder")(flat_obs).reshape(time, batch, -1)
            value_input = jnp.concatenate([value_features, last_action, last_reward], axis=-1)
        if self.use_lstm:
            core_state, x = ResettingLSTM(self.lstm_size, name="core")(core_state, x, first)
            value_input = x
        policy = parts.head(self, x)
        value_head = nn.Dense(self.num_tasks, kernel_init=kernel_init(self.weight_init, 1.0), name=VALUE_HEAD)
        value = value_head(value_input)
        return NetworkOutput(policy, value[..., 0] if self.num_tasks == 1 else value), core_state

    def env_action(self, action: jax.Array) -> jax.Array:
        """What the env receives for the policy's `action` `[B, *action_shape]`: discrete ones as they are,
        continuous ones within `action_bounds` as `action_squash` says."""
        return compose(self).head.env_action(action)

    def _obs_stats(self, obs_shape: tuple[int, ...]) -> obs_norm.Stats:
        initial = obs_norm.initial_stats(math.prod(obs_shape[1:]))
        return {
            name: self.variable(obs_norm.COLLECTION, name, lambda value=value: value).value
            for name, value in initial.items()
        }
