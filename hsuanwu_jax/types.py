"""Immutable named pytrees passed between actors, the learner and the trainer."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import optax

Params = Any  # a Flax parameter pytree
CoreState = Any  # the recurrent core's state pytree: `()` for feed-forward networks


class Trajectory(NamedTuple):
    """One actor rollout of T steps for B envs, stored as T+1 time-major entries `[T+1, B, ...]`.

    Entry 0 repeats the last entry of the actor's previous rollout, so the T transitions
    (entry t -> entry t+1) of consecutive rollouts tile the stream without a gap and entry T
    supplies the bootstrap value.

    EnvPool resets an env on the step *after* the one that reported `done`: the action taken at a
    `done` observation is ignored and the next observation is the first of a new episode. The
    learner therefore masks transitions that start at a `done` entry.
    """

    obs: jax.Array  # [T+1, B, *obs_shape] as the env gives it (uint8 images stay uint8)
    first: jax.Array  # [T+1, B] bool: obs_t is the first observation of an episode
    prev_action: jax.Array  # [T+1, B, *action_shape] the action taken before obs_t (zero where first)
    reward: jax.Array  # [T+1, B] float32: reward received on arriving at obs_t (0 where first)
    done: jax.Array  # [T+1, B] bool: obs_t ends an episode (terminated or truncated)
    terminated: jax.Array  # [T+1, B] bool: obs_t is terminal, its value is zero (no bootstrap)
    action: jax.Array  # [T+1, B, *action_shape] the action taken at obs_t
    behaviour_log_prob: jax.Array  # [T+1, B] float32: log mu(action_t | obs_t) of the actor's policy
    initial_core_state: CoreState  # pytree of [B, ...]: the core's state before obs_0


class PolicyStep(NamedTuple):
    """What an actor's policy returns for one batched step of B envs."""

    action: jax.Array  # [B, *action_shape]
    log_prob: jax.Array  # [B] float32: log mu(action | obs)
    core_state: CoreState  # pytree of [B, ...]: the state after this observation


class LearnerState(NamedTuple):
    """Everything the learner step reads and writes; replicated over the learner devices."""

    params: Params
    opt_state: optax.OptState
    update_step: jax.Array  # int32 scalar: number of updates applied so far
