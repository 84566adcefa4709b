"""Checkpoints of the run state with Orbax: atomic, newest K kept, safe to load, refused when they
cannot fit the run.

Orbax writes each checkpoint into a temporary directory and renames it into place when complete,
so a crash mid-write leaves the previous checkpoints as they were. Arrays are stored as
tensorstore data and metadata as JSON: loading never executes code from the files.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import jax
import numpy as np

from hsuanwu_jax.config.fields import STATE_SHAPE_FIELDS, resolve_network_choices
from hsuanwu_jax.config.settings import Settings
from hsuanwu_jax.core.popart import PopArtStats
from hsuanwu_jax.core.spec import EnvSpec, spec_differences, spec_from_json, spec_to_json
from hsuanwu_jax.core.types import LearnerState, RunState
from hsuanwu_jax.parallel.hosts import process_values
from hsuanwu_jax.parallel.mesh import fetch
from hsuanwu_jax.run.checkpoint_store import CheckpointError, CheckpointStore

CHECKPOINT_FORMAT = "hsuanwu_jax.checkpoint/1"


class RunCheckpoints:
    """A run's `RunState` checkpoints in `directory`, with the run's config and env spec stored beside each."""

    def __init__(self, directory: str, settings: Settings, spec: EnvSpec):
        self._store = CheckpointStore(directory, settings.checkpoint_keep)
        self.directory = self._store.directory
        self._lr, self._config, self._config_json = settings.lr, settings.config, _as_json(settings.config)
        self._spec = spec

    def steps(self) -> list[int]:
        """The env steps of the complete checkpoints on disk, oldest first."""
        return self._store.steps()

    def save(self, run: RunState) -> None:
        """Writes `run` at its env step (every process of a multi-host run must call this). Params that
        are not all finite are refused with a FloatingPointError: a checkpoint must be one to resume from."""
        if not all(np.isfinite(x).all() for x in jax.tree.leaves(fetch(run.learner.params))):
            steps = self.steps()
            kept = (
                f"the newest checkpoint is at env step {steps[-1]:,}"
                if steps
                else "no checkpoint was written"
            )
            raise FloatingPointError(
                f"the params at env step {run.env_steps:,} are not finite (is lr={self._lr} too "
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
            # floats, or a list per task in a multi-task run
            metadata["popart_reward_range"] = [np.asarray(fetch(x)).tolist() for x in reward_range]
        self._store.save(run.env_steps, _to_tree(run), metadata)

    def restore_newest(self, template: RunState) -> RunState | None:
        """The newest readable checkpoint, restored into `template`'s structure, shapes and shardings;
        None when there is none. A checkpoint written for an env with other spaces, or whose config
        differs in a `STATE_SHAPE_FIELDS` field, is refused with a ValueError naming what differs."""
        # Every process of a multi-host run must continue from the same step, and Orbax's restores must be
        # called alike on all of them: first agree on the newest step every process sees.
        visible = self._store.steps()
        newest = min(process_values(visible[-1] if visible else -1))
        if visible and newest != visible[-1]:
            print(f"resuming at most from step {newest}, the newest step every process sees", flush=True)
        restored = None
        if newest >= 0:
            restored = self._store.restore_newest(_to_tree(template), self._check_resumable, newest)
        step = -1 if restored is None else restored[0]
        restored_steps = process_values(step)
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
        saved, mine, shown = metadata.get("config", {}), self._config_json, dict(self._config)
        if "encoder" in saved:  # compared as what they mean for the network ("auto", fields added since)
            saved = {**saved, **resolve_network_choices(saved)}
            mine = {**mine, **resolve_network_choices(mine)}
            shown.update(resolve_network_choices(shown))
        for field in STATE_SHAPE_FIELDS:
            if field in saved and saved[field] != mine[field]:
                raise ValueError(
                    f"config field {field}={shown[field]!r} differs from {saved[field]!r} in the "
                    f"checkpoint in {self.directory}: its state cannot be resumed with this "
                    f"config; set {field} back or choose another workdir"
                )

    def close(self) -> None:
        self._store.close()


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
    (none kept before 2026-11-26: a fresh run's 0, 0) placed like `template`'s (one per task in a multi-task
    run)."""
    value_stats = None
    if "value_stats" in tree:
        fresh = template.learner.value_stats
        reward_range = metadata.get("popart_reward_range", [0.0, 0.0])
        value_stats = PopArtStats(
            tree["value_stats"].mean,
            tree["value_stats"].variance,
            *(
                jax.make_array_from_process_local_data(
                    like.sharding, np.broadcast_to(np.float32(value), like.shape).copy()
                )
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
