"""The update run data-parallel: one device's update functions (update.py) mapped over the learner mesh's
`BATCH_AXIS` and jitted, in one program or in pieces."""

from __future__ import annotations

from collections.abc import Callable

import jax
import numpy as np
from jax.sharding import Mesh, PartitionSpec

from hsuanwu_jax.agent.optim import LearningRate
from hsuanwu_jax.agent.update import env_chunk
from hsuanwu_jax.parallel.mesh import BATCH_AXIS, replicate, trajectory_spec


def data_parallel(step_fn: Callable, mesh: Mesh) -> Callable:
    """Jits `step_fn(state, trajectory, rate, step_index) -> (state, metrics)`, written for one device over
    `BATCH_AXIS`, to run on every device of `mesh` with the trajectory split along B (the state, the
    `LearningRate` and the pass index replicated); the state is donated."""
    replicated = PartitionSpec()
    sharded = jax.shard_map(
        step_fn,
        mesh=mesh,
        in_specs=(replicated, trajectory_spec(), replicated, replicated),
        out_specs=(replicated, replicated),
    )
    return jax.jit(sharded, donate_argnums=0)


class DataParallelUpdate:
    """`update(state, trajectory) -> (state, metrics)` on every device of a mesh, from `update.DeviceUpdate`.

    One piece (`num_chunks` 1): `fns.step` as one jitted program. More: three programs, the gradients of
    `chunks_per_call` pieces compiled once and called `num_chunks / chunks_per_call` times from Python on
    each device's part of the batch, the running sums kept per device (a leading device axis) until
    `finish` adds them over the mesh.

    `num_epochs` passes over each batch, each `fns.num_minibatches` optimizer steps (the same programs, called
    again with the step's index): with several, each device's share of the batch is cut along B into that
    many minibatches, the same ones in every pass, learned from in turn. `rate` is an argument of every
    call, not a constant of the programs: runs that differ only in the learning rate or their length load
    each other's programs from the persistent cache.
    """

    def __init__(self, fns, mesh: Mesh, rate: LearningRate, num_epochs: int = 1):
        self._fns, self._num_epochs = fns, num_epochs
        self._rate = replicate(rate.as_arrays(), mesh)
        self._minibatch = jax.jit(
            jax.shard_map(
                lambda traj, index: env_chunk(traj, index, fns.num_minibatches),
                mesh=mesh,
                in_specs=(trajectory_spec(), PartitionSpec()),
                out_specs=trajectory_spec(),
            )
        )
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
                lambda state, sums, rewards, tasks, rate, step_index: fns.finish(
                    state, unstacked(sums), rewards, tasks, rate, step_index
                ),
                mesh=mesh,
                in_specs=(replicated, per_device, batch.reward, batch.task, replicated, replicated),
                out_specs=(replicated, replicated),
            ),
            donate_argnums=0,  # the sums are read, not reused
        )

    def __call__(self, state, traj):
        count = self._fns.num_minibatches
        minibatches = [traj] if count == 1 else [self._minibatch(traj, np.int32(k)) for k in range(count)]
        for epoch in range(self._num_epochs):
            for k, minibatch in enumerate(minibatches):
                state, metrics = self._optimizer_step(state, minibatch, np.int32(epoch * count + k))
        return state, metrics  # the last step's

    def _optimizer_step(self, state, traj, step_index):
        if self._step is not None:
            return self._step(state, traj, self._rate, step_index)
        sums = self._zero(state.params, traj, state.value_stats)
        for call in range(self._fns.num_chunks // self._fns.chunks_per_call):
            sums = self._add(sums, state.params, traj, state.value_stats, np.int32(call))
        return self._finish(state, sums, traj.reward, traj.task, self._rate, step_index)

    def lower(self, state, traj) -> list[jax.stages.Lowered]:
        """The update's programs traced and lowered for arguments like `state` and `traj` (one, or three when
        chunked; and the one that cuts minibatches), not compiled."""
        programs = []
        if self._fns.num_minibatches > 1:
            programs.append(self._minibatch.lower(traj, np.int32(0)))
            traj = programs[0].compile().out_info
        if self._step is not None:
            return [*programs, self._step.lower(state, traj, self._rate, np.int32(0))]
        zero = self._zero.lower(state.params, traj, state.value_stats)
        sums = zero.compile().out_info
        return [
            *programs,
            zero,
            self._add.lower(sums, state.params, traj, state.value_stats, np.int32(0)),
            self._finish.lower(state, sums, traj.reward, traj.task, self._rate, np.int32(0)),
        ]

    def compile(self, state, traj) -> None:
        """Compiles (or loads from the persistent cache) every program of an update for arguments like `state`
        and `traj`, without running one: the first call then starts at once. The training loop does this on
        the main thread while the actor threads compile their rollouts."""
        for program in self.lower(state, traj):
            program.compile()
