"""The one module that knows about devices: the learner mesh, batch sharding and replication.

The learner mesh has a single named axis, `BATCH_AXIS`, along which every trajectory batch is
split by env (never by time). Params and optimizer state are replicated over it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from hsuanwu_jax.optim import LearningRate
from hsuanwu_jax.types import ENV_AXES, Trajectory

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


def any_process(flag: bool) -> bool:
    """True on every process if `flag` is true on any: lets all processes stop at the same update."""
    if jax.process_count() == 1:
        return flag
    return bool(np.any(multihost_utils.process_allgather(np.asarray(flag))))


def process_values(value: int) -> list[int]:
    """Every process's `value`, in process order (`[value]` in a single-process run)."""
    if jax.process_count() == 1:
        return [value]
    return [int(x) for x in multihost_utils.process_allgather(np.asarray(value, np.int64))]


def is_primary() -> bool:
    """Whether this process writes metrics, exports and logs (process 0)."""
    return jax.process_index() == 0


def initialize_distributed(
    *, coordinator_address: str, num_processes: int | None, process_id: int | None, timeout_seconds: int
) -> None:
    """Joins a multi-process run through `jax.distributed.initialize` (a no-op if already joined).

    Must run before anything else uses JAX devices. With an explicit coordinator, a process other
    than 0 first waits up to `timeout_seconds` for the coordinator's port to accept connections, so
    an unreachable coordinator is a clear TimeoutError rather than the runtime's abort.
    """
    if jax.distributed.is_initialized():
        return
    # CPU collectives between processes need gloo; GPU and TPU use their own and ignore this.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if coordinator_address and process_id not in (None, 0):
        _wait_for_coordinator(coordinator_address, timeout_seconds)
    print(
        f"joining the multi-host run: coordinator {coordinator_address or '(auto-detected)'}, process "
        f"{'auto' if process_id is None else process_id} of {num_processes or 'auto'}, timeout {timeout_seconds} s",
        flush=True,
    )
    joined = threading.Event()
    # JAX aborts the whole process (SIGABRT from C++) when its own timeout expires; ours comes first and
    # ends the process with a message that says what was waited for. JAX's is 5 s longer.
    threading.Thread(
        target=_exit_unless_joined,
        args=(joined, timeout_seconds, coordinator_address, num_processes, process_id),
        name="join-timeout",
        daemon=True,
    ).start()
    jax.distributed.initialize(
        coordinator_address=coordinator_address or None,
        num_processes=num_processes,
        process_id=process_id,
        initialization_timeout=timeout_seconds + 5,
    )
    joined.set()
    threading.Thread(target=_end_on_peer_failure, name="peer-failure-watch", daemon=True).start()


def _exit_unless_joined(joined, timeout_seconds, coordinator_address, num_processes, process_id) -> None:
    if joined.wait(timeout_seconds):
        return
    print(
        f"TimeoutError: the multi-host run did not form within distributed_timeout_seconds={timeout_seconds}: "
        f"process {'(auto)' if process_id is None else process_id} waited for {num_processes or 'all'} processes "
        f"at coordinator_address={coordinator_address or '(auto-detected)'!r}; start every process with the "
        "same coordinator_address and num_processes and its own process_id, or raise distributed_timeout_seconds",
        file=sys.stderr,
        flush=True,
    )
    os._exit(1)


def _wait_for_coordinator(address: str, timeout_seconds: int) -> None:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f'coordinator_address={address!r} is not of the form "host:port"')
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=1.0):
                return
        except OSError as error:
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"the coordinator at coordinator_address={address!r} did not answer within "
                    f"distributed_timeout_seconds={timeout_seconds} ({error}); is process 0 running?"
                ) from None
            time.sleep(0.5)


def data_parallel(step_fn: Callable, mesh: Mesh) -> Callable:
    """Jits `step_fn(state, trajectory, rate) -> (state, metrics)`, written for one device over `BATCH_AXIS`,
    to run on every device of `mesh` with the trajectory split along B (the state and the `LearningRate`
    replicated); the state is donated."""
    replicated = PartitionSpec()
    sharded = jax.shard_map(
        step_fn,
        mesh=mesh,
        in_specs=(replicated, trajectory_spec(), replicated),
        out_specs=(replicated, replicated),
    )
    return jax.jit(sharded, donate_argnums=0)


class DataParallelLearner:
    """`learner(state, trajectory) -> (state, metrics)` on every device of a mesh, from `learner.LearnerFns`.

    One piece (`num_chunks` 1): `fns.step` as one jitted program. More: three programs, the gradients of
    `chunks_per_call` pieces compiled once and called `num_chunks / chunks_per_call` times from Python on
    each device's part of the batch, the running sums kept per device (a leading device axis) until
    `finish` adds them over the mesh.

    `rate` is an argument of every call, not a constant of the programs: runs that
    differ only in the learning rate or their length load each other's programs from the persistent cache.
    """

    def __init__(self, fns, mesh: Mesh, rate: LearningRate):
        self._fns = fns
        self._rate = replicate(rate.as_arrays(), mesh)
        if fns.num_chunks == 1:
            self._step = data_parallel(fns.step, mesh)
            return
        self._step = None
        replicated, per_device, batch = PartitionSpec(), PartitionSpec(BATCH_AXIS), trajectory_spec()

        # A device's sums with a leading axis of 1, so that out_specs can place them per device.
        def stacked(fn):
            return lambda *args: jax.tree.map(lambda x: x[None], fn(*args))

        def unstacked(sums):
            return jax.tree.map(lambda x: x[0], sums)

        self._zero = jax.jit(
            jax.shard_map(
                stacked(fns.zero_sums),
                mesh=mesh,
                in_specs=(replicated, batch, replicated),
                out_specs=per_device,
            )
        )
        self._add = jax.jit(
            jax.shard_map(
                stacked(lambda sums, *args: fns.add_pieces(unstacked(sums), *args)),
                mesh=mesh,
                in_specs=(per_device, replicated, batch, replicated, replicated),
                out_specs=per_device,
            ),
            donate_argnums=0,
        )
        self._finish = jax.jit(
            jax.shard_map(
                lambda state, sums, rewards, rate: fns.finish(state, unstacked(sums), rewards, rate),
                mesh=mesh,
                in_specs=(replicated, per_device, batch.reward, replicated),
                out_specs=(replicated, replicated),
            ),
            donate_argnums=0,  # the sums are read, not reused
        )

    def __call__(self, state, traj):
        if self._step is not None:
            return self._step(state, traj, self._rate)
        sums = self._zero(state.params, traj, state.value_stats)
        for call in range(self._fns.num_chunks // self._fns.chunks_per_call):
            sums = self._add(sums, state.params, traj, state.value_stats, np.int32(call))
        return self._finish(state, sums, traj.reward, self._rate)

    def lower(self, state, traj) -> list[jax.stages.Lowered]:
        """The update's programs traced and lowered for arguments like `state` and `traj` (one, or three when
        chunked), not compiled."""
        if self._step is not None:
            return [self._step.lower(state, traj, self._rate)]
        zero = self._zero.lower(state.params, traj, state.value_stats)
        sums = zero.compile().out_info
        return [
            zero,
            self._add.lower(sums, state.params, traj, state.value_stats, np.int32(0)),
            self._finish.lower(state, sums, traj.reward, self._rate),
        ]

    def compile(self, state, traj) -> None:
        """Compiles (or loads from the persistent cache) every program of an update for arguments like `state`
        and `traj`, without running one: the first call then starts at once. The training loop does this on
        the main thread while the actor threads compile their rollouts."""
        for program in self.lower(state, traj):
            program.compile()


_FAILURE_KEY = "hsuanwu_jax/failure"


def _distributed_client():
    """The jax.distributed key-value client (None in a single-process run). JAX exposes it only through
    its private `_src.distributed` module, as its own multihost_utils reads it."""
    from jax._src import distributed

    return distributed.global_state.client


def report_failure(error: BaseException) -> None:
    """Tells the other processes of a multi-host run that this one failed with `error` (see
    `_end_on_peer_failure`); a no-op in a single-process run."""
    client = _distributed_client()
    if client is None:
        return
    # Setting a key twice fails: then another process reported first, and its error is the one that counts.
    with contextlib.suppress(Exception):
        client.key_value_set(_FAILURE_KEY, f"process {jax.process_index()}: {type(error).__name__}: {error}")


def _end_on_peer_failure(poll_seconds: float = 0.5) -> None:
    """Runs in a daemon thread of every process of a multi-host run: when another process reports a
    failure, prints its error and ends this process with status 1. Its main thread may be blocked in a
    collective that will never complete, where nothing else could stop it before the runtime's
    heartbeat timeout (minutes)."""
    client = _distributed_client()
    while client is not None:
        try:
            failure = client.key_value_try_get(_FAILURE_KEY)
        except Exception:  # not set (NOT_FOUND) or the service is gone: look again
            failure = None
        if failure and not failure.startswith(f"process {jax.process_index()}:"):
            print(
                f"stopping: another process of this multi-host run failed: {failure}",
                file=sys.stderr,
                flush=True,
            )
            os._exit(1)
        time.sleep(poll_seconds)
