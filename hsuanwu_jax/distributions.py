"""Action distributions over a policy head's output; pure functions of arrays, batched by the caller."""

from __future__ import annotations

import jax
import jax.numpy as jnp


class Categorical:
    """Categorical distribution over `num_actions` discrete actions, parameterised by logits `[..., A]`."""

    @staticmethod
    def sample(key: jax.Array, logits: jax.Array) -> jax.Array:
        """Returns int32 actions `[...]`."""
        return jax.random.categorical(key, logits).astype(jnp.int32)

    @staticmethod
    def mode(logits: jax.Array) -> jax.Array:
        """The greedy action, int32 `[...]`."""
        return jnp.argmax(logits, axis=-1).astype(jnp.int32)

    @staticmethod
    def log_prob(logits: jax.Array, action: jax.Array) -> jax.Array:
        """log pi(action), float `[...]`, for int actions `[...]`."""
        log_probs = jax.nn.log_softmax(logits)
        return jnp.take_along_axis(log_probs, action[..., None].astype(jnp.int32), axis=-1)[..., 0]

    @staticmethod
    def entropy(logits: jax.Array) -> jax.Array:
        """Entropy in nats, `[...]`."""
        log_probs = jax.nn.log_softmax(logits)
        return -jnp.sum(jnp.exp(log_probs) * log_probs, axis=-1)
