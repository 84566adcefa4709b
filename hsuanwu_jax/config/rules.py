"""What each config field accepts: a check and the words an error uses to say what it expected."""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Mapping

from hsuanwu_jax.config.fields import (
    ACTION_SQUASHES,
    ACTOR_MODES,
    ENCODERS,
    PROGRESS_MODES,
    TEST_POLICIES,
    VALUE_NETWORKS,
    VERBOSITIES,
    WEIGHT_INITS,
)


def _non_negative_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _positive_int(value) -> bool:
    return _non_negative_int(value) and value > 0


def _host_and_port(address: str) -> bool:
    host, _, port = address.rpartition(":")
    return bool(host) and port.isdigit() and 1 <= int(port) <= 65535


def _number(low: float, high: float = math.inf, optional: bool = False):
    def check(value) -> bool:
        if value is None:
            return optional
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        return is_number and math.isfinite(value) and low <= value <= high

    return check


RULES = {
    "env_id": (lambda v: isinstance(v, str) and v != "", "a non-empty EnvPool task id"),
    "tasks": (
        lambda v: (
            isinstance(v, (list, tuple))
            and all(isinstance(t, str) and t for t in v)
            and len(set(v)) == len(v) != 1
        ),
        "a list of two or more different EnvPool task ids, or () for env_id alone",
    ),
    "env_kwargs": (lambda v: isinstance(v, Mapping), "a mapping of envpool.make arguments"),
    "test_env_kwargs": (lambda v: isinstance(v, Mapping), "a mapping of envpool.make arguments"),
    "seed": (_non_negative_int, "an integer >= 0"),
    "num_actors": (
        lambda v: v == "auto" or _positive_int(v),
        'an integer >= 1, or "auto" (config/sizing.py)',
    ),
    "num_envs": (_positive_int, "an integer >= 1"),
    "env_threads": (
        lambda v: v == "auto" or _positive_int(v),
        'an integer >= 1, or "auto" (config/sizing.py)',
    ),
    "num_steps": (_positive_int, "an integer >= 1"),
    "queue_size": (_positive_int, "an integer >= 1"),
    "actor_timeout_seconds": (_number(0.0), "a finite number >= 0 (seconds; 0: no timeout)"),
    "stall_factor": (
        lambda v: _number(1.0)(v) or (_number(0.0)(v) and v == 0),
        "a finite number >= 1, or 0 (no limit but actor_timeout_seconds)",
    ),
    "stall_floor_seconds": (_number(0.0), "a finite number >= 0 (seconds)"),
    "actor_mode": (lambda v: v in ACTOR_MODES, f"one of {ACTOR_MODES}"),
    "batch_size": (_positive_int, "an integer >= 1"),
    "num_train_steps": (_positive_int, "an integer >= 1"),
    "learner_chunks": (
        lambda v: v == "auto" or _non_negative_int(v),
        'an integer dividing each device\'s minibatch, or "auto" (or 0): per backend',
    ),
    "lr": (_number(0.0), "a finite number >= 0"),
    "lr_warmup_steps": (_non_negative_int, "an integer >= 0 (env steps)"),
    "alpha": (_number(0.0, 1.0), "a finite number in [0, 1]"),
    "eps": (_number(0.0), "a finite number >= 0"),
    "max_grad_norm": (_number(1e-12), "a finite number > 0"),
    "discount": (_number(0.0, 1.0), "a finite number in [0, 1]"),
    "baseline_coef": (_number(0.0), "a finite number >= 0"),
    "ent_coef": (_number(0.0), "a finite number >= 0"),
    "reward_scale": (_number(1e-12), "a finite number > 0"),
    "clip_rho_threshold": (_number(1e-12, optional=True), "a finite number > 0 or None"),
    "clip_pg_rho_threshold": (_number(1e-12, optional=True), "a finite number > 0 or None"),
    "vtrace_lambda": (_number(0.0, 1.0), "a finite number in [0, 1]"),
    "num_epochs": (_positive_int, "an integer >= 1"),
    "num_minibatches": (_positive_int, "an integer >= 1 dividing each learner device's batch"),
    "pg_ratio_clip": (_number(0.0, 0.99), "a finite number in [0, 0.99] (0: off)"),
    "popart": (lambda v: isinstance(v, bool), "True or False"),
    "popart_step_size": (_number(1e-12, 1.0), "a finite number in (0, 1]"),
    "popart_std_floor": (_number(0.0, 1e6), "a finite number >= 0 (0: no floor but 1e-4)"),
    "encoder": (lambda v: v in ENCODERS, f"one of {ENCODERS}"),
    "mlp_hidden_sizes": (
        lambda v: isinstance(v, (tuple, list)) and all(_positive_int(x) for x in v),
        "a sequence of positive integers",
    ),
    "use_lstm": (lambda v: isinstance(v, bool), "True or False"),
    "init_model_path": (lambda v: isinstance(v, str), 'a path to a model export, or ""'),
    "lstm_size": (_positive_int, "an integer >= 1"),
    "value_network": (lambda v: v in VALUE_NETWORKS, f"one of {VALUE_NETWORKS}"),
    "obs_norm": (lambda v: isinstance(v, bool), "True or False"),
    "action_squash": (lambda v: v in ACTION_SQUASHES, f"one of {ACTION_SQUASHES}"),
    "initial_action_std": (_number(1e-6), "a finite number > 0 (action units before squashing)"),
    "weight_init": (lambda v: v in WEIGHT_INITS, f"one of {WEIGHT_INITS}"),
    "learner_device_ids": (
        lambda v: v is None or (isinstance(v, (tuple, list)) and all(isinstance(x, int) for x in v)),
        "None or a list of device ids",
    ),
    "actor_device_id": (lambda v: v is None or isinstance(v, int), "None or a device id"),
    "num_test_episodes": (_positive_int, "an integer >= 1"),
    "test_policy": (lambda v: v in TEST_POLICIES, f"one of {TEST_POLICIES}"),
    "test_train_envs": (lambda v: isinstance(v, bool), "True or False"),
    "test_max_episode_steps": (_positive_int, "an integer >= 1 (env steps)"),
    "test_every": (
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "an integer >= 0 (env steps)",
    ),
    "log_every": (_positive_int, "an integer >= 1 (env steps)"),
    "progress": (lambda v: v in PROGRESS_MODES, f"one of {PROGRESS_MODES}"),
    "tensorboard": (lambda v: isinstance(v, bool), "True or False"),
    "wandb_project": (lambda v: isinstance(v, str), 'a W&B project name, or "" for no W&B logging'),
    "wandb_entity": (lambda v: isinstance(v, str), 'a W&B entity, or "" for the default one'),
    "multi_host": (lambda v: isinstance(v, bool), "True or False"),
    "coordinator_address": (
        lambda v: isinstance(v, str) and (v == "" or _host_and_port(v)),
        'a "host:port" string with a port in 1..65535, or "" to auto-detect',
    ),
    "num_processes": (lambda v: v is None or _positive_int(v), "None or an integer >= 1"),
    "process_id": (lambda v: v is None or _non_negative_int(v), "None or an integer >= 0"),
    "distributed_timeout_seconds": (_positive_int, "an integer >= 1 (seconds)"),
    "checkpoint_every": (_non_negative_int, "an integer >= 0 (env steps)"),
    "checkpoint_keep": (_positive_int, "an integer >= 1"),
    "workdir": (lambda v: isinstance(v, str), "a path"),
    "experiment": (
        lambda v: isinstance(v, str) and os.sep not in v and v not in (".", ".."),
        "a name usable as a folder name (no path separator)",
    ),
    "verbosity": (lambda v: v in VERBOSITIES, f"one of {VERBOSITIES}"),
    "compile_cache_dir": (
        lambda v: isinstance(v, str),
        'a directory, or "" for no persistent compilation cache',
    ),
}


def check_relations(fields: dict) -> None:
    """Checks what holds between fields (each already valid alone); raises ValueError naming them."""
    if fields["batch_size"] % fields["num_envs"]:
        raise ValueError(
            f"batch_size={fields['batch_size']} must be a multiple of num_envs={fields['num_envs']} "
            f"(a batch is made of whole actor rollouts), e.g. {fields['num_envs'] * max(1, fields['batch_size'] // fields['num_envs'])}"
        )
    process_id, num_processes_field = fields["process_id"], fields["num_processes"]
    if process_id is not None and num_processes_field is not None and process_id >= num_processes_field:
        raise ValueError(
            f"config field process_id={fields['process_id']} is out of range: "
            f"expected 0 <= process_id < num_processes={fields['num_processes']}"
        )
    if fields["wandb_project"] and importlib.util.find_spec("wandb") is None:
        raise ValueError(
            f"config field wandb_project={fields['wandb_project']!r} needs the wandb package: "
            'pip install wandb, or set wandb_project=""'
        )
    if fields["multi_host"] and fields["learner_device_ids"] is not None:
        raise ValueError("config field learner_device_ids must be None with multi_host: every device learns")
    if fields["value_network"] == "separate" and (fields["encoder"] != "mlp" or fields["use_lstm"]):
        raise ValueError(
            f"config field value_network='separate' needs encoder='mlp' without use_lstm (got encoder="
            f"{fields['encoder']!r}, use_lstm={fields['use_lstm']}): set value_network='shared' or 'auto'"
        )


def check_tasks(fields: dict, num_processes: int) -> None:
    """A multi-task run's actor threads (over every process) must spread evenly over its tasks. A multi-host
    config is checked before its run is joined with the process count it gives (none: once joined)."""
    if fields["multi_host"] and num_processes == 1:
        if fields["num_processes"] is None:
            return
        num_processes = fields["num_processes"]
    tasks, actors = fields["tasks"], fields["num_actors"] * num_processes
    if tasks and actors % len(tasks):
        per_process = "" if num_processes == 1 else f" x {num_processes} processes"
        raise ValueError(
            f"config field tasks holds {len(tasks)} tasks, which num_actors={fields['num_actors']}{per_process} "
            f"actor threads cannot share evenly (each thread steps one task's envs): use a multiple of "
            f"{len(tasks)} actor threads in all"
        )
