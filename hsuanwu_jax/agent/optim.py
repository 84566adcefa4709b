"""The optax chain of the seed: global-norm clipping, then PyTorch-style RMSProp with linear LR decay."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax


class LearningRate(NamedTuple):
    """The learning rate's schedule: linear from 0 to `peak` over the first `warmup_updates` updates, then
    linear from `peak` to 0 at update `num_updates` (held at 0 after it); no warm-up (0) is the seed's.

    Its fields may be traced values: the learner's programs take it as an argument rather than baking it in
    as constants, so runs that differ only in `lr` or length (`num_train_steps`) share their compiled
    programs and the persistent compilation cache's entries.
    """

    peak: float | jax.Array
    warmup_updates: int | jax.Array
    num_updates: int | jax.Array

    def __call__(self, count: jax.Array) -> jax.Array:
        """The rate of update `count` (int32, from 0), in float32; exactly 0 from update `num_updates` on."""
        warmup = jnp.maximum(self.warmup_updates, 1)  # only read while count < warmup_updates
        rising = self.peak * (jnp.clip(count, 0, warmup) / warmup)
        decay = jnp.maximum(self.num_updates - self.warmup_updates, 1)
        falling = self.peak * ((decay - jnp.clip(count - self.warmup_updates, 0, decay)) / decay)
        return jnp.where(count < self.warmup_updates, rising, falling)

    def as_arrays(self) -> LearningRate:
        """The same schedule as float32 / int32 values: what the learner's programs are called with."""
        return LearningRate(np.float32(self.peak), np.int32(self.warmup_updates), np.int32(self.num_updates))


def make_optimizer(
    rate: LearningRate, *, eps: float, alpha: float, max_grad_norm: float
) -> optax.GradientTransformation:
    """RMSProp as `torch.optim.RMSprop(lr, alpha, eps)`: eps added outside the square root, no momentum, at
    the learning rate `rate` gives each update; gradients are clipped to a global norm of `max_grad_norm`
    first. The optimizer state's structure does not depend on `rate`."""
    return optax.chain(
        optax.clip_by_global_norm(max_grad_norm),
        optax.rmsprop(rate, decay=alpha, eps=eps, eps_in_sqrt=False),
    )
