"""The learner: its state on the mesh, the env steps trained on, and one update dispatched at a time."""

from __future__ import annotations

from collections.abc import Callable

import jax

from hsuanwu_jax.agent.data_parallel import DataParallelUpdate
from hsuanwu_jax.core.types import LearnerState, Trajectory
from hsuanwu_jax.parallel.mesh import fetch, make_local_copier, replicate, shard_trajectory


class Learner:
    """The learner's current state on the mesh and the env steps trained on; `dispatch` advances both."""

    def __init__(self, update: DataParallelUpdate, mesh, state: LearnerState, actor_device: jax.Device):
        self._update, self._mesh = update, mesh
        self.state = replicate(state, mesh)
        self.env_steps = 0  # counted by the training loop, which knows how many steps a batch holds
        self._copy_to_actor_device = make_local_copier(mesh, actor_device)
        self._compiled = False

    def dispatch(self, batch: Trajectory) -> dict[str, jax.Array]:
        """Starts one update on this process's host batch `[T+1, batch_size, ...]`; returns its metrics as
        device arrays (the update runs asynchronously until they are fetched)."""
        self.state, metrics = self._update(self.state, shard_trajectory(batch, self._mesh))
        return metrics

    def compile(self, make_batch: Callable[[], Trajectory]) -> None:
        """Compiles the update for host batches like `make_batch()`'s (their values are not read) without
        running it; once per learner (later train() calls find it compiled)."""
        if not self._compiled:
            self._update.compile(self.state, shard_trajectory(make_batch(), self._mesh))
            self._compiled = True

    def update_step(self) -> int:
        return int(fetch(self.state.update_step))

    def actor_params(self):
        """The current params, copied to the actor device (what actors and `test()` act with)."""
        return self._copy_to_actor_device(self.state.params)
