"""Which tasks a run learns, and which task each actor thread plays: one agent over several tasks when the
config's `tasks` lists them (each thread steps one task's envs, the threads of every process spread evenly
over the tasks in turn), else the one task `env_id`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def task_ids(cfg: Mapping[str, Any]) -> tuple[str, ...]:
    """The run's tasks in order (a task's index is its position): `tasks`, or `(env_id,)`. Of a config as stored
    (an export's, a checkpoint's); a run's `Settings` has them as `settings.task_ids`."""
    return tuple(cfg.get("tasks") or ()) or (cfg["env_id"],)


def actor_tasks(cfg: Mapping[str, Any], process_index: int) -> list[int]:
    """The task index of each of process `process_index`'s `num_actors` actor threads: thread k of process p
    is thread p * num_actors + k of the run, and thread g plays task g mod (number of tasks)."""
    actors, count = int(cfg["num_actors"]), len(task_ids(cfg))
    return [(process_index * actors + k) % count for k in range(actors)]
