"""Checkpoints of the full training state with Orbax: atomic, newest K kept, safe to load.

Orbax writes each checkpoint into a temporary directory and renames it into place when complete,
so a crash mid-write leaves the previous checkpoints as they were. Arrays are stored as
tensorstore data and metadata as JSON: loading never executes code from the files.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import jax
import orbax.checkpoint as ocp

log = logging.getLogger(__name__)


def _warn(message: str) -> None:
    log.warning(message)
    print(f"WARNING: {message}", flush=True)


class CheckpointError(RuntimeError):
    """No checkpoint in a directory that has some could be read."""


class Checkpointer:
    """Saves and restores `(state pytree, JSON metadata)` pairs under `directory`, one per env step."""

    def __init__(self, directory: str, keep: int):
        self.directory = os.path.abspath(directory)
        self._manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(
                max_to_keep=keep, create=True, enable_async_checkpointing=False
            ),
        )

    def steps(self) -> list[int]:
        """The env steps of the complete checkpoints on disk, oldest first."""
        self._manager.reload()
        return sorted(self._manager.all_steps())

    def save(self, step: int, state: Any, metadata: dict[str, Any]) -> None:
        """Writes the checkpoint for env step `step` (every process of a multi-host run must call this)."""
        if step in self.steps():
            return  # already written at this step (e.g. a final save right after a periodic one)
        self._manager.save(
            step,
            args=ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(metadata)),
        )
        self._manager.wait_until_finished()

    def restore_newest(
        self, target: Any, check_metadata: Callable[[dict[str, Any]], None]
    ) -> tuple[int, Any, dict[str, Any]] | None:
        """Restores the newest readable checkpoint into the structure, shapes and shardings of `target`.

        `check_metadata(metadata)` runs first and may raise to refuse a checkpoint (an incompatible
        config is an error, not a reason to fall back). An unreadable checkpoint is reported with a
        warning and the next older one is tried. Returns `(step, state, metadata)`, or None when
        there is no checkpoint at all; raises CheckpointError when there are some but none is readable.
        """
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
        failures = []
        for step in reversed(self.steps()):
            try:
                metadata = self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))[
                    "meta"
                ]
            except Exception as error:
                failures.append(self._unreadable(step, error))
                continue
            check_metadata(metadata)
            try:
                restored = self._manager.restore(
                    step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract))
                )
            except Exception as error:
                failures.append(self._unreadable(step, error))
                continue
            if failures:
                _warn(f"resuming from the older checkpoint at step {step}")
            return step, restored["state"], metadata
        if failures:
            raise CheckpointError("no checkpoint could be read:\n" + "\n".join(failures))
        return None

    def _unreadable(self, step: int, error: Exception) -> str:
        message = (
            f"checkpoint at step {step} in {self.directory} is unreadable ({type(error).__name__}: {error})"
        )
        _warn(message + "; trying an older one")
        return message

    def close(self) -> None:
        self._manager.close()
