"""Immutable named pytrees passed between actors, the learner and the trainer."""

from __future__ import annotations

from collections.abc import Callable
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
    task: jax.Array  # [T+1, B] int32: the index of the task the env plays (0 in a single-task run)
    initial_core_state: CoreState  # pytree of [B, ...]: the core's state before obs_0


TIME_MAJOR_FIELDS = tuple(f for f in Trajectory._fields if f != "initial_core_state")
# The env axis B of each field: 1 in the time-major `[T+1, B, ...]` fields, 0 in the core state's `[B, ...]`.
ENV_AXES = Trajectory(**dict.fromkeys(TIME_MAJOR_FIELDS, 1), initial_core_state=0)


def map_envs(fn: Callable[..., Any], *trajectories: Trajectory) -> Trajectory:
    """`fn(env_axis, *arrays)` applied to every array of the trajectories (same structure), where
    `env_axis` is that array's B axis (`ENV_AXES`): the one place that knows the Trajectory's layout."""

    def field(axis: int, *subtrees):
        return jax.tree.map(lambda *arrays: fn(axis, *arrays), *subtrees)

    return jax.tree.map(field, ENV_AXES, *trajectories)


def env_slice(axis: int, envs: slice) -> tuple[slice, ...]:
    """The index that selects `envs` along `axis` (e.g. `x[env_slice(1, envs)]` is `x[:, envs]`)."""
    return (slice(None),) * axis + (envs,)


class PolicyStep(NamedTuple):
    """What an actor's policy returns for one batched step of B envs."""

    action: jax.Array  # [B, *action_shape]
    log_prob: jax.Array  # [B] float32: log mu(action | obs)
    core_state: CoreState  # pytree of [B, ...]: the state after this observation
    env_action: jax.Array  # [B, *action_shape]: what the env receives for `action` (within its bounds)


class LearnerState(NamedTuple):
    """Everything the learner step reads and writes; replicated over the learner devices."""

    params: Params
    opt_state: optax.OptState
    update_step: jax.Array  # int32 scalar: number of updates applied so far
    value_stats: Any = None  # popart.PopArtStats of the value targets with popart, else None


class RunState(NamedTuple):
    """Everything a checkpoint holds: the learner's state and the run's counters and random streams."""

    learner: LearnerState  # replicated over the learner mesh
    actor_keys: jax.Array  # [num_actors, 2] uint32: each actor thread's PRNG key (process 0's in multi-host)
    test_key: jax.Array  # [2] uint32: the key of the next test()
    env_steps: int  # env steps trained on, all processes together
    total_episodes: int  # training episodes finished, all actors of this process
