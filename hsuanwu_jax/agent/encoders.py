"""The networks' parts that read observations and carry memory: weight initialisers, the MLP, Nature CNN and
IMPALA ResNet encoders (`[N, ...] -> [N, D]`) and the LSTM core that resets at episode starts."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from hsuanwu_jax.core.types import CoreState

# weight_init -> gain -> kernel initialiser: Flax's default (LeCun normal, whatever the gain), or orthogonal
KERNEL_INITS = {
    "lecun": lambda gain: nn.linear.default_kernel_init,
    "orthogonal": nn.initializers.orthogonal,
}


def kernel_init(weight_init: str, gain: float) -> nn.initializers.Initializer:
    """The kernel initialiser `weight_init` names, for layers followed by an activation of `gain`."""
    return KERNEL_INITS[weight_init](gain)


_RELU_GAIN = 2**0.5  # keeps the activations' scale through ReLU layers under orthogonal init


class MLPEncoder(nn.Module):
    """Fully connected layers for vector observations `[N, D]` (or `[N, ...]`, flattened)."""

    hidden_sizes: Sequence[int] = (64, 64)
    weight_init: str = "lecun"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        init = kernel_init(self.weight_init, _RELU_GAIN)
        x = x.reshape(x.shape[0], -1).astype(jnp.float32)
        for size in self.hidden_sizes:
            x = nn.relu(nn.Dense(size, kernel_init=init)(x))
        return x


def _image_to_float(x: jax.Array) -> jax.Array:
    """uint8 `[N, C, H, W]` (EnvPool's channel-first frames) -> float32 `[N, H, W, C]` in [0, 1]."""
    return jnp.transpose(x, (0, 2, 3, 1)).astype(jnp.float32) / 255.0


class NatureCNN(nn.Module):
    """The Mnih et al. (2015) DQN torso: three convolutions and a 512-unit layer."""

    weight_init: str = "lecun"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        init = kernel_init(self.weight_init, _RELU_GAIN)
        x = _image_to_float(x)
        x = nn.relu(nn.Conv(32, (8, 8), strides=(4, 4), padding="VALID", kernel_init=init)(x))
        x = nn.relu(nn.Conv(64, (4, 4), strides=(2, 2), padding="VALID", kernel_init=init)(x))
        x = nn.relu(nn.Conv(64, (3, 3), strides=(1, 1), padding="VALID", kernel_init=init)(x))
        return nn.relu(nn.Dense(512, kernel_init=init)(x.reshape(x.shape[0], -1)))


class _ResidualBlock(nn.Module):
    channels: int
    weight_init: str = "lecun"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        init = kernel_init(self.weight_init, _RELU_GAIN)
        y = nn.Conv(self.channels, (3, 3), kernel_init=init)(nn.relu(x))
        y = nn.Conv(self.channels, (3, 3), kernel_init=init)(nn.relu(y))
        return x + y


class ResNetEncoder(nn.Module):
    """The Espeholt et al. (2018) IMPALA "deep" torso: 3 sections of conv, max-pool, 2 residual blocks."""

    channels: Sequence[int] = (16, 32, 32)
    weight_init: str = "lecun"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        init = kernel_init(self.weight_init, _RELU_GAIN)
        x = _image_to_float(x)
        for channels in self.channels:
            x = nn.Conv(channels, (3, 3), kernel_init=init)(x)
            x = nn.max_pool(x, (3, 3), strides=(2, 2), padding="SAME")
            x = _ResidualBlock(channels, self.weight_init)(x)
            x = _ResidualBlock(channels, self.weight_init)(x)
        x = nn.relu(x).reshape(x.shape[0], -1)
        return nn.relu(nn.Dense(256, kernel_init=init)(x))


class ResettingLSTM(nn.Module):
    """An LSTM scanned over time whose state is zeroed where an episode starts."""

    size: int

    @nn.compact
    def __call__(self, state: CoreState, x: jax.Array, first: jax.Array):
        """state: `(c, h)` each `[B, size]`; x: `[T, B, D]`; first: `[T, B]` -> (state, `[T, B, size]`)."""

        def step(cell, carry, inputs):
            x_t, first_t = inputs
            carry = jax.tree.map(lambda s: jnp.where(first_t[:, None], 0.0, s), carry)
            return cell(carry, x_t)

        scan = nn.scan(step, variable_broadcast="params", split_rngs={"params": False})
        return scan(nn.OptimizedLSTMCell(self.size, name="cell"), state, (x, first))
