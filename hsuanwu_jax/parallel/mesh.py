"""The one module that knows about devices: the learner mesh, batch sharding and replication.

The learner mesh has a single named axis, `BATCH_AXIS`, along which every trajectory batch is
split by env (never by time). Params and optimizer state are replicated over it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from hsuanwu_jax.core.types import ENV_AXES, Trajectory

BATCH_AXIS = "batch"


def select_devices(
    device_ids: Sequence[int] | None, field: str, local: Sequence[jax.Device]
) -> list[jax.Device]:
    """The devices of `local` (this process's) with these ids, all of them for `None`; errors name `field`."""
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
    """Partition specs for a `Trajectory`: every field split along its env axis B over `BATCH_AXIS`."""
    return jax.tree.map(lambda axis: PartitionSpec(*[None] * axis, BATCH_AXIS), ENV_AXES)


def shard_trajectory(traj: Trajectory, mesh: Mesh) -> Trajectory:
    """Moves this process's host batch onto the mesh as its part of the global batch.

    Each process passes its own `[T+1, B_local, ...]` batch; the global batch concatenates them
    along B (`B_local * num_processes`) and every device holds `B_global / num_devices` envs.
    """

    def place(spec: PartitionSpec, subtree):
        sharding = NamedSharding(mesh, spec)
        return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, x), subtree)

    return jax.tree.map(place, trajectory_spec(), traj, is_leaf=lambda x: isinstance(x, PartitionSpec))


def replicate(tree, mesh: Mesh):
    """A copy of `tree` (the same host values in every process) on every device of the mesh."""
    replicated = NamedSharding(mesh, PartitionSpec())
    return jax.tree.map(lambda x: jax.make_array_from_process_local_data(replicated, np.asarray(x)), tree)


def local_copy(tree, device: jax.Device):
    """A new single-device copy, on `device`, of a tree of replicated global arrays (never an alias:
    the learner donates its state to the next update)."""
    return jax.tree.map(lambda x: jax.device_put(x.addressable_data(0), device, may_alias=False), tree)


def make_local_copier(mesh: Mesh, device: jax.Device) -> Callable:
    """`copy(tree)`: like `local_copy(tree, device)` for trees replicated over `mesh`, as one asynchronous
    jitted copy when the mesh is that one device (the learner publishes params after every update).
    Either way the copies are plain single-device arrays, with no mesh in their types: a jitted consumer
    (an actor's rollout) sees the same input types on every call and compiles once."""
    if tuple(mesh.devices.flat) == (device,):
        copy = jax.jit(lambda tree: jax.tree.map(jnp.copy, tree))
        return lambda tree: copy(jax.tree.map(lambda x: x.addressable_data(0), tree))
    return functools.partial(local_copy, device=device)


def fetch(tree):
    """Host (NumPy) values of a tree of replicated global arrays, read from this process's copy."""
    return jax.tree.map(lambda x: np.asarray(x.addressable_data(0)), tree)
