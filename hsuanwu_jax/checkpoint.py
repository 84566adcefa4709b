"""Checkpoints of the run state with Orbax: atomic, newest K kept, safe to load, refused when they
cannot fit the run.

Orbax writes each checkpoint into a temporary directory and renames it into place when complete,
so a crash mid-write leaves the previous checkpoints as they were. Arrays are stored as
tensorstore data and metadata as JSON: loading never executes code from the files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import numpy as np
import orbax.checkpoint as ocp

from hsuanwu_jax import sharding
from hsuanwu_jax.config import STATE_SHAPE_FIELDS
from hsuanwu_jax.envs import EnvSpec, spec_differences, spec_from_json, spec_to_json
from hsuanwu_jax.popart import PopArtStats
from hsuanwu_jax.runtime import return_free_memory
from hsuanwu_jax.types import LearnerState, RunState

CHECKPOINT_FORMAT = "hsuanwu_jax.checkpoint/1"


def _warn(message: str) -> None:
    print(f"WARNING: {message}", flush=True)


def _first_line(error: Exception, limit: int = 300) -> str:
    """`Type: message` cut to its first line and `limit` characters (Orbax errors carry pages of spec)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return f"{type(error).__name__}: {text}"


class CheckpointError(RuntimeError):
    """No checkpoint in a directory that has some could be read."""


class Checkpointer:
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


class RunCheckpoints:
    """A run's `RunState` checkpoints in `directory`, with the run's config and env spec stored beside each."""

    def __init__(self, directory: str, keep: int, config: Mapping[str, Any], spec: EnvSpec):
        self._checkpointer = Checkpointer(directory, keep)
        self.directory = self._checkpointer.directory
        self._config, self._config_json = config, _as_json(config)
        self._spec = spec

    def steps(self) -> list[int]:
        """The env steps of the complete checkpoints on disk, oldest first."""
        return self._checkpointer.steps()

    def save(self, run: RunState) -> None:
        """Writes `run` at its env step (every process of a multi-host run must call this). Params that
        are not all finite are refused with a FloatingPointError: a checkpoint must be one to resume from."""
        if not all(np.isfinite(x).all() for x in jax.tree.leaves(sharding.fetch(run.learner.params))):
            steps = self.steps()
            kept = (
                f"the newest checkpoint is at env step {steps[-1]:,}"
                if steps
                else "no checkpoint was written"
            )
            raise FloatingPointError(
                f"the params at env step {run.env_steps:,} are not finite (is lr={self._config['lr']} too "
                f"large?): not saved; training stopped and {kept}"
            )
        metadata = {
            "format": CHECKPOINT_FORMAT,
            "config": self._config_json,
            "spec": spec_to_json(self._spec),
            "env_steps": run.env_steps,
        }
        if run.learner.value_stats is not None:
            reward_range = (run.learner.value_stats.reward_min, run.learner.value_stats.reward_max)
            metadata["popart_reward_range"] = [float(sharding.fetch(x)) for x in reward_range]
        self._checkpointer.save(run.env_steps, _to_tree(run), metadata)

    def restore_newest(self, template: RunState) -> RunState | None:
        """The newest readable checkpoint, restored into `template`'s structure, shapes and shardings;
        None when there is none. A checkpoint written for an env with other spaces, or whose config
        differs in a `STATE_SHAPE_FIELDS` field, is refused with a ValueError naming what differs."""
        # Every process of a multi-host run must continue from the same step, and Orbax's restores must be
        # called alike on all of them: first agree on the newest step every process sees.
        visible = self._checkpointer.steps()
        newest = min(sharding.process_values(visible[-1] if visible else -1))
        if visible and newest != visible[-1]:
            print(f"resuming at most from step {newest}, the newest step every process sees", flush=True)
        restored = None
        if newest >= 0:
            restored = self._checkpointer.restore_newest(_to_tree(template), self._check_resumable, newest)
        step = -1 if restored is None else restored[0]
        restored_steps = sharding.process_values(step)
        if len(set(restored_steps)) > 1:
            raise CheckpointError(
                f"the processes restored different checkpoints (steps {restored_steps}, in process order): "
                f"a checkpoint is unreadable on some of them; remove it from {self.directory}"
            )
        if restored is None:
            return None
        _, tree, metadata = restored
        return _from_tree(tree, metadata, template)

    def _check_resumable(self, metadata: dict[str, Any]) -> None:
        if "spec" in metadata:  # checkpoints written before the spec was stored have only the config
            differences = spec_differences(
                spec_from_json(metadata["spec"]), self._spec, "checkpoint", "train_env"
            )
            if differences:
                raise ValueError(
                    f"the checkpoint in {self.directory} was written for an env with other spaces ("
                    + "; ".join(differences)
                    + "): it cannot be resumed with this env; choose another workdir"
                )
        saved = metadata.get("config", {})
        for field in STATE_SHAPE_FIELDS:
            if field in saved and saved[field] != self._config_json[field]:
                raise ValueError(
                    f"config field {field}={self._config[field]!r} differs from {saved[field]!r} in the "
                    f"checkpoint in {self.directory}: its state cannot be resumed with this "
                    f"config; set {field} back or choose another workdir"
                )

    def close(self) -> None:
        self._checkpointer.close()


class _SavedPopArtStats(NamedTuple):
    """`popart.PopArtStats` as checkpoints hold them; the reward range is in the checkpoint's metadata
    (`popart_reward_range`), so checkpoints written before it was kept still restore."""

    mean: Any
    variance: Any


def _to_tree(run: RunState) -> dict[str, Any]:
    """The checkpoint's layout of a RunState (flat names, as checkpoints have always been written; the
    PopArt statistics only in runs that have them)."""
    value_stats = run.learner.value_stats
    stats = (
        {}
        if value_stats is None
        else {"value_stats": _SavedPopArtStats(value_stats.mean, value_stats.variance)}
    )
    return {
        **stats,
        "params": run.learner.params,
        "opt_state": run.learner.opt_state,
        "update_step": run.learner.update_step,
        "actor_keys": np.asarray(run.actor_keys),
        "test_key": np.asarray(run.test_key),
        "env_steps": np.asarray(run.env_steps, np.int64),
        "total_episodes": np.asarray(run.total_episodes, np.int64),
    }


def _from_tree(tree: dict[str, Any], metadata: dict[str, Any], template: RunState) -> RunState:
    """The RunState of a restored `_to_tree` layout and its metadata; the PopArt statistics' reward range
    (none kept before 2026-11-26: a fresh run's 0, 0) placed like `template`'s."""
    value_stats = None
    if "value_stats" in tree:
        fresh = template.learner.value_stats
        reward_range = metadata.get("popart_reward_range", [0.0, 0.0])
        value_stats = PopArtStats(
            tree["value_stats"].mean,
            tree["value_stats"].variance,
            *(
                jax.make_array_from_process_local_data(like.sharding, np.float32(value))
                for like, value in zip((fresh.reward_min, fresh.reward_max), reward_range, strict=True)
            ),
        )
    return RunState(
        learner=LearnerState(tree["params"], tree["opt_state"], tree["update_step"], value_stats),
        actor_keys=tree["actor_keys"],
        test_key=tree["test_key"],
        env_steps=int(tree["env_steps"]),
        total_episodes=int(tree["total_episodes"]),
    )


def _as_json(value):
    """`value` as JSON reads it back (tuples become lists), so saved and current configs compare equal."""
    return json.loads(json.dumps(value, default=list))
