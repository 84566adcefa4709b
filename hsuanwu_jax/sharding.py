"""The one module that knows about devices: the learner mesh, batch sharding and replication.

The learner mesh has a single named axis, `BATCH_AXIS`, along which every trajectory batch is
split by env (never by time). Params and optimizer state are replicated over it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from hsuanwu_jax.types import Trajectory

BATCH_AXIS = "batch"


def select_devices(device_ids: Sequence[int] | None, field: str) -> list[jax.Device]:
    """The local devices with these ids (all local devices for `None`); errors name `field`."""
    local = jax.local_devices()
    if device_ids is None:
        return list(local)
    by_id = {d.id: d for d in local}
    missing = [i for i in device_ids if i not in by_id]
    if missing or not device_ids:
        raise ValueError(
            f"{field}={list(device_ids)} names no usable device: the local devices have ids {sorted(by_id)}"
        )
    return [by_id[i] for i in device_ids]


def learner_mesh(devices: Sequence[jax.Device]) -> Mesh:
    return Mesh(np.asarray(devices), (BATCH_AXIS,))


def trajectory_spec() -> Trajectory:
    """Partition specs for a `Trajectory`: `[T+1, B, ...]` fields and the `[B, ...]` core state split on B."""
    time_major = PartitionSpec(None, BATCH_AXIS)
    return Trajectory(
        obs=time_major,
        first=time_major,
        prev_action=time_major,
        reward=time_major,
        done=time_major,
        terminated=time_major,
        action=time_major,
        behaviour_log_prob=time_major,
        initial_core_state=PartitionSpec(BATCH_AXIS),
    )


def shard_trajectory(traj: Trajectory, mesh: Mesh) -> Trajectory:
    """Moves a host trajectory batch onto the mesh, each device holding `B / num_devices` envs."""
    shardings = jax.tree.map(
        lambda spec: NamedSharding(mesh, spec),
        trajectory_spec(),
        is_leaf=lambda x: isinstance(x, PartitionSpec),
    )
    return jax.device_put(traj, shardings)


def replicate(tree, mesh: Mesh):
    """A copy of `tree` on every device of the mesh."""
    return jax.device_put(tree, NamedSharding(mesh, PartitionSpec()), may_alias=False)


def data_parallel(step_fn: Callable, mesh: Mesh) -> Callable:
    """Jits `step_fn(state, trajectory) -> (state, metrics)`, written for one device over `BATCH_AXIS`,
    to run on every device of `mesh` with the trajectory split along B; the state is donated."""
    replicated = PartitionSpec()
    sharded = jax.shard_map(
        step_fn,
        mesh=mesh,
        in_specs=(replicated, trajectory_spec()),
        out_specs=(replicated, replicated),
    )
    return jax.jit(sharded, donate_argnums=0)
