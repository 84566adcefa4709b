"""The optax chain of the seed: global-norm clipping, then PyTorch-style RMSProp with linear LR decay."""

from __future__ import annotations

import optax


def make_optimizer(
    *, lr: float, eps: float, alpha: float, max_grad_norm: float, num_updates: int
) -> optax.GradientTransformation:
    """RMSProp as `torch.optim.RMSprop(lr, alpha, eps)`: eps added outside the square root, no momentum.

    The learning rate falls linearly from `lr` to 0 over `num_updates` updates; gradients are
    clipped to a global norm of `max_grad_norm` first.
    """
    schedule = optax.linear_schedule(lr, 0.0, num_updates)
    return optax.chain(
        optax.clip_by_global_norm(max_grad_norm),
        optax.rmsprop(schedule, decay=alpha, eps=eps, eps_in_sqrt=False),
    )
