"""Saving and restoring pytrees with JSON metadata through Orbax: atomic, newest K kept, unreadable
checkpoints skipped with a warning."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import jax
import orbax.checkpoint as ocp

from hsuanwu_jax.runtime.process import return_free_memory


def _warn(message: str) -> None:
    print(f"WARNING: {message}", flush=True)


def _first_line(error: Exception, limit: int = 300) -> str:
    """`Type: message` cut to its first line and `limit` characters (Orbax errors carry pages of spec)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return f"{type(error).__name__}: {text}"


class CheckpointError(RuntimeError):
    """No checkpoint in a directory that has some could be read."""


class CheckpointStore:
    """Saves and restores `(state pytree, JSON metadata)` pairs under `directory`, one per env step."""

    def __init__(self, directory: str, keep: int):
        self.directory = os.path.abspath(directory)
        if os.path.exists(self.directory) and not os.path.isdir(self.directory):
            raise ValueError(
                f"{self.directory} is a file, not a checkpoint directory: move it or choose another workdir"
            )
        self._unreadable: set[int] = set()  # steps found unreadable: a save at that step replaces them
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
            if step not in self._unreadable:
                return  # already written at this step (e.g. a final save right after a periodic one)
            self._manager.delete(step)  # a corrupted checkpoint must not stand for this step
            self._unreadable.discard(step)
        self._manager.save(
            step,
            args=ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(metadata)),
        )
        self._manager.wait_until_finished()
        return_free_memory()

    def restore_newest(
        self, target: Any, check_metadata: Callable[[dict[str, Any]], None], newest: int | None = None
    ) -> tuple[int, Any, dict[str, Any]] | None:
        """Restores the newest readable checkpoint into the structure, shapes and shardings of `target`.

        `check_metadata(metadata)` runs first and may raise to refuse a checkpoint (an incompatible
        config is an error, not a reason to fall back). An unreadable checkpoint is reported with a
        warning and the next older one is tried. Returns `(step, state, metadata)`, or None when
        there is no checkpoint at all; raises CheckpointError when there are some but none is readable.
        With `newest`, checkpoints after that step are not considered.
        """
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
        failures = []
        for step in reversed([s for s in self.steps() if newest is None or s <= newest]):
            try:
                metadata = self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))[
                    "meta"
                ]
            except Exception as error:
                failures.append(self._unreadable_step(step, error))
                continue
            check_metadata(metadata)
            try:
                restored = self._manager.restore(
                    step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract))
                )
            except Exception as error:
                failures.append(self._unreadable_step(step, error))
                continue
            if failures:
                _warn(f"resuming from the older checkpoint at step {step}")
            return step, restored["state"], metadata
        if failures:
            raise CheckpointError("no checkpoint could be read:\n" + "\n".join(failures))
        return None

    def _unreadable_step(self, step: int, error: Exception) -> str:
        self._unreadable.add(step)
        message = f"checkpoint at step {step} in {self.directory} is unreadable ({_first_line(error)})"
        _warn(message + "; trying an older one")
        return message

    def close(self) -> None:
        self._manager.close()
