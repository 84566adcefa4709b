"""Typed settings: a config validated once, with every field declared and the sizes derived from it.

`validate(cfg)` checks every field of a config (unknown names with a suggestion, types, ranges,
divisibility) and returns `Settings`: the config's fields as typed attributes plus the derived
values, frozen. Fields and derived values are told apart by `CONFIG_FIELDS` / `DERIVED_FIELDS`.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import math
import os
from collections.abc import Mapping
from typing import Any

from hsuanwu_jax.config import default_config, to_config_dict
from hsuanwu_jax.hsuanwu_config import EnvFacts, is_hsuanwu_tree, translate
from hsuanwu_jax.networks import ENCODERS, WEIGHT_INITS

PROGRESS_MODES = ("bar", "lines", "none")
VERBOSITIES = ("warning", "info", "debug")
NO_ENV_FACTS = EnvFacts()
ACTOR_MODES = ("auto", "python", "xla")  # xla: EnvPool's XLA interface, EnvPool envs on CPU or GPU devices


@dataclasses.dataclass(frozen=True)
class Settings:
    """A validated config: each field of `default_config` (see it for their meaning), then the derived
    sizes. `config` is the whole validated config as a plain dict (what runs store and envs are made from)."""

    config: Mapping[str, Any]
    env_id: str
    env_kwargs: Mapping[str, Any]
    test_env_kwargs: Mapping[str, Any]
    seed: int
    num_actors: int
    num_envs: int
    env_threads: int
    num_steps: int
    queue_size: int
    actor_timeout_seconds: float
    actor_mode: str
    batch_size: int
    num_train_steps: int
    learner_chunks: int
    lr: float
    lr_warmup_steps: int
    alpha: float
    eps: float
    max_grad_norm: float
    discount: float
    baseline_coef: float
    ent_coef: float
    reward_scale: float
    clip_rho_threshold: float | None
    clip_pg_rho_threshold: float | None
    vtrace_lambda: float
    popart: bool
    popart_step_size: float
    encoder: str
    mlp_hidden_sizes: tuple[int, ...]
    use_lstm: bool
    lstm_size: int
    weight_init: str
    init_model_path: str
    learner_device_ids: tuple[int, ...] | None
    actor_device_id: int | None
    multi_host: bool
    coordinator_address: str
    num_processes: int | None
    process_id: int | None
    distributed_timeout_seconds: int
    num_test_episodes: int
    test_max_episode_steps: int
    test_every: int
    log_every: int
    progress: str
    tensorboard: bool
    wandb_project: str
    wandb_entity: str
    checkpoint_every: int
    checkpoint_keep: int
    workdir: str
    experiment: str
    compile_cache_dir: str
    verbosity: str
    # Derived, never set in a config:
    rollouts_per_batch: int  # actor rollouts concatenated into one learner batch
    steps_per_update: int  # env steps consumed by one update: num_steps * batch_size * processes
    num_updates: int  # updates needed to reach num_train_steps
    hsuanwu_form: bool = False  # the config came as Hsuanwu's tree (translated by hsuanwu_config.py)
    config_notes: tuple[str, ...] = ()  # what the translation ignored or changed, one line each


DERIVED_FIELDS = ("rollouts_per_batch", "steps_per_update", "num_updates", "hsuanwu_form", "config_notes")
CONFIG_FIELDS = tuple(
    f.name for f in dataclasses.fields(Settings) if f.name not in ("config", *DERIVED_FIELDS)
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


_RULES = {
    "env_id": (lambda v: isinstance(v, str) and v != "", "a non-empty EnvPool task id"),
    "env_kwargs": (lambda v: isinstance(v, Mapping), "a mapping of envpool.make arguments"),
    "test_env_kwargs": (lambda v: isinstance(v, Mapping), "a mapping of envpool.make arguments"),
    "seed": (_non_negative_int, "an integer >= 0"),
    "num_actors": (_positive_int, "an integer >= 1"),
    "num_envs": (_positive_int, "an integer >= 1"),
    "env_threads": (_positive_int, "an integer >= 1"),
    "num_steps": (_positive_int, "an integer >= 1"),
    "queue_size": (_positive_int, "an integer >= 1"),
    "actor_timeout_seconds": (_number(0.0), "a finite number >= 0 (seconds; 0: no timeout)"),
    "actor_mode": (lambda v: v in ACTOR_MODES, f"one of {ACTOR_MODES}"),
    "batch_size": (_positive_int, "an integer >= 1"),
    "num_train_steps": (_positive_int, "an integer >= 1"),
    "learner_chunks": (_non_negative_int, "0 (per backend) or an integer dividing each device's batch"),
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
    "popart": (lambda v: isinstance(v, bool), "True or False"),
    "popart_step_size": (_number(1e-12, 1.0), "a finite number in (0, 1]"),
    "encoder": (lambda v: v in ENCODERS, f"one of {ENCODERS}"),
    "mlp_hidden_sizes": (
        lambda v: isinstance(v, (tuple, list)) and all(_positive_int(x) for x in v),
        "a sequence of positive integers",
    ),
    "use_lstm": (lambda v: isinstance(v, bool), "True or False"),
    "init_model_path": (lambda v: isinstance(v, str), 'a path to a model export, or ""'),
    "lstm_size": (_positive_int, "an integer >= 1"),
    "weight_init": (lambda v: v in WEIGHT_INITS, f"one of {WEIGHT_INITS}"),
    "learner_device_ids": (
        lambda v: v is None or (isinstance(v, (tuple, list)) and all(isinstance(x, int) for x in v)),
        "None or a list of device ids",
    ),
    "actor_device_id": (lambda v: v is None or isinstance(v, int), "None or a device id"),
    "num_test_episodes": (_positive_int, "an integer >= 1"),
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


def validate(cfg, num_processes: int = 1, env: EnvFacts = NO_ENV_FACTS) -> Settings:
    """Checks every field of `cfg` (unknown names, types, ranges, divisibility) and derives sizes.

    Missing fields take their defaults. `num_processes` is the number of processes that train
    together (each contributes `batch_size` envs to every update). A config in Hsuanwu's layout is
    translated first (hsuanwu_config.py), with `env`, what the train env tells, filling what Hsuanwu
    took from the env (the task, the number of envs). Raises ValueError naming the field and what it
    accepts.
    """
    given = to_config_dict(cfg).to_dict()
    defaults = default_config().to_dict()
    notes: list[str] = []
    hsuanwu_form = is_hsuanwu_tree(given)
    if hsuanwu_form:
        given, notes = translate(given, defaults, env)
    if env.env_id is not None:  # the train env's task stands for the config's (the test env follows it)
        if "env_id" not in given:
            given = {"env_id": env.env_id, "env_kwargs": dict(env.env_kwargs or {}), **given}
        elif given["env_id"] not in (env.env_id, *env.same_tasks):
            raise ValueError(
                f"config field env_id={given['env_id']!r} differs from train_env's task {env.env_id!r}: set "
                f"env_id={env.env_id!r} (or leave it out: the train env's task is taken)"
            )
    for name in given:
        if name not in defaults:
            close = difflib.get_close_matches(name, defaults, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown config field {name!r}{hint}")
    merged = {**defaults, **given}
    # Paths may come as pathlib.Path (os.PathLike).
    for name in ("workdir", "init_model_path", "compile_cache_dir"):
        if isinstance(merged[name], os.PathLike):
            merged[name] = os.fspath(merged[name])
    for name, (check, accepted) in _RULES.items():
        if not check(merged[name]):
            raise ValueError(f"config field {name}={merged[name]!r} is invalid: expected {accepted}")
    if merged["batch_size"] % merged["num_envs"]:
        raise ValueError(
            f"batch_size={merged['batch_size']} must be a multiple of num_envs={merged['num_envs']} "
            f"(a batch is made of whole actor rollouts), e.g. {merged['num_envs'] * max(1, merged['batch_size'] // merged['num_envs'])}"
        )
    process_id, num_processes_field = merged["process_id"], merged["num_processes"]
    if process_id is not None and num_processes_field is not None and process_id >= num_processes_field:
        raise ValueError(
            f"config field process_id={merged['process_id']} is out of range: "
            f"expected 0 <= process_id < num_processes={merged['num_processes']}"
        )
    if merged["wandb_project"] and importlib.util.find_spec("wandb") is None:
        raise ValueError(
            f"config field wandb_project={merged['wandb_project']!r} needs the wandb package: "
            'pip install wandb, or set wandb_project=""'
        )
    if merged["multi_host"] and merged["learner_device_ids"] is not None:
        raise ValueError("config field learner_device_ids must be None with multi_host: every device learns")
    steps_per_update = merged["num_steps"] * merged["batch_size"] * num_processes
    typed = {name: merged[name] for name in CONFIG_FIELDS}
    for name in ("mlp_hidden_sizes", "learner_device_ids"):
        typed[name] = None if typed[name] is None else tuple(typed[name])
    return Settings(
        config=merged,
        **typed,
        rollouts_per_batch=merged["batch_size"] // merged["num_envs"],
        steps_per_update=steps_per_update,
        num_updates=math.ceil(merged["num_train_steps"] / steps_per_update),
        hsuanwu_form=hsuanwu_form,
        config_notes=tuple(notes),
    )
