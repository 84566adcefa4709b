"""The optax chain of the seed: global-norm clipping, then PyTorch-style RMSProp with linear LR decay."""

from __future__ import annotations

import optax


def make_optimizer(
    *, lr: float, eps: float, alpha: float, max_grad_norm: float, num_updates: int, warmup_updates: int = 0
) -> optax.GradientTransformation:
    """RMSProp as `torch.optim.RMSprop(lr, alpha, eps)`: eps added outside the square root, no momentum.

    The learning rate falls linearly from `lr` to 0 over `num_updates` updates, after rising linearly
    from 0 over the first `warmup_updates` of them (0: no warm-up, the seed's schedule); gradients are
    clipped to a global norm of `max_grad_norm` first.
    """
    decay = optax.linear_schedule(lr, 0.0, max(num_updates - warmup_updates, 1))
    schedule = decay
    if warmup_updates:
        schedule = optax.join_schedules(
            [optax.linear_schedule(0.0, lr, warmup_updates), decay], [warmup_updates]
        )
    return optax.chain(
        optax.clip_by_global_norm(max_grad_norm),
        optax.rmsprop(schedule, decay=alpha, eps=eps, eps_in_sqrt=False),
    )
