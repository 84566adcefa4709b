"""Typed settings: a config validated once, with every field declared and the sizes derived from it.

`validate(cfg)` checks every field of a config (unknown names with a suggestion, types, ranges,
divisibility) and returns `Settings`: the config's fields as typed attributes plus the derived
values, frozen. Fields and derived values are told apart by `CONFIG_FIELDS` / `DERIVED_FIELDS`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
from collections.abc import Mapping
from typing import Any

from hsuanwu_jax.config.defaults import default_config
from hsuanwu_jax.config.fields import resolve_network_choices
from hsuanwu_jax.config.hsuanwu_tree import is_hsuanwu_tree, translate
from hsuanwu_jax.config.loading import to_config_dict
from hsuanwu_jax.config.rules import RULES, check_relations, check_tasks
from hsuanwu_jax.config.sizing import actor_layout
from hsuanwu_jax.config.tasks import actor_tasks, task_ids
from hsuanwu_jax.core.spec import EnvFacts
from hsuanwu_jax.runtime.host import HostFacts, this_host

MAX_UPDATES = 2**31 - 1  # updates a run can count (int32 in the jitted learning-rate schedule)

NO_ENV_FACTS = EnvFacts()


@dataclasses.dataclass(frozen=True)
class Settings:
    """A validated config: each field of `default_config` (see it for their meaning), then the derived
    sizes. `config` is the whole validated config as a plain dict (what runs store and envs are made from)."""

    config: Mapping[str, Any]
    env_id: str
    tasks: tuple[str, ...]
    env_kwargs: Mapping[str, Any]
    test_env_kwargs: Mapping[str, Any]
    seed: int
    num_actors: int  # resolved ("auto": config/sizing.py)
    num_envs: int
    env_threads: int  # resolved ("auto": config/sizing.py)
    num_steps: int
    queue_size: int
    actor_timeout_seconds: float
    stall_factor: float
    stall_floor_seconds: float
    actor_mode: str
    batch_size: int
    num_train_steps: int
    learner_chunks: int | str  # "auto" (or 0) is resolved by the run plan, which knows the devices
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
    num_epochs: int
    num_minibatches: int
    pg_ratio_clip: float
    popart: bool
    popart_step_size: float
    popart_std_floor: float
    encoder: str
    mlp_hidden_sizes: tuple[int, ...]
    use_lstm: bool
    lstm_size: int
    value_network: str  # resolved: "separate" or "shared" (the config may say "auto")
    obs_norm: bool  # resolved: False unless the encoder is "mlp"
    action_squash: str
    initial_action_std: float
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
    test_policy: str
    test_train_envs: bool
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
    actor_layout: str  # the actor threads and their EnvPool threads, and why where "auto" chose them
    hsuanwu_form: bool = False  # the config came as Hsuanwu's tree (translated by hsuanwu_tree.py)
    config_notes: tuple[str, ...] = ()  # what the translation ignored or changed, one line each

    @property
    def task_ids(self) -> tuple[str, ...]:
        """The run's tasks in order (a task's index is its position): `tasks`, or `(env_id,)`."""
        return task_ids(self.config)

    def actor_tasks(self, process_index: int) -> list[int]:
        """The task index of each of process `process_index`'s actor threads (config/tasks.py)."""
        return actor_tasks(self.config, process_index)


def as_settings(cfg) -> Settings:
    """`cfg` itself when it is `Settings` already, else `validate(cfg)`: for the public functions that take a
    user's config (e.g. `make_env`) as well as the run's settings."""
    return cfg if isinstance(cfg, Settings) else validate(cfg)


DERIVED_FIELDS = (
    "rollouts_per_batch",
    "steps_per_update",
    "num_updates",
    "actor_layout",
    "hsuanwu_form",
    "config_notes",
)


CONFIG_FIELDS = tuple(
    f.name for f in dataclasses.fields(Settings) if f.name not in ("config", *DERIVED_FIELDS)
)


def validate(
    cfg, num_processes: int = 1, env: EnvFacts = NO_ENV_FACTS, host: HostFacts | None = None
) -> Settings:
    """Checks every field of `cfg` (unknown names, types, ranges, divisibility) and derives sizes.

    Missing fields take their defaults. `num_processes` is the number of processes that train
    together (each contributes `batch_size` envs to every update). A config in Hsuanwu's layout is
    translated first (hsuanwu_tree.py), with `env`, what the train env tells, filling what Hsuanwu
    took from the env (the task, the number of envs). "auto" actor layouts are sized to `host` (None: this
    host; a multi-host run not yet joined leaves its devices unknown until it validates again, joined).
    Raises ValueError naming the field and what it accepts.
    """
    defaults = default_config().to_dict()
    raw = to_config_dict(cfg).to_dict()
    if host is None:
        host = this_host(multi_host=bool(raw.get("multi_host", defaults["multi_host"])))
    given, notes, hsuanwu_form = _given_fields(raw, defaults, env, host)
    merged = {**defaults, **given}
    # Paths may come as pathlib.Path (os.PathLike).
    for name in ("workdir", "init_model_path", "compile_cache_dir"):
        if isinstance(merged[name], os.PathLike):
            merged[name] = os.fspath(merged[name])
    for name, (check, accepted) in RULES.items():
        if not check(merged[name]):
            raise ValueError(f"config field {name}={merged[name]!r} is invalid: expected {accepted}")
    layout = actor_layout(merged, host, env)
    merged.update(num_actors=layout.num_actors, env_threads=layout.env_threads)
    check_relations(merged)
    check_tasks(merged, num_processes)
    steps_per_update = merged["num_steps"] * merged["batch_size"] * num_processes
    num_updates = math.ceil(merged["num_train_steps"] / steps_per_update)
    if num_updates > MAX_UPDATES:  # the learning-rate schedule counts updates in int32
        raise ValueError(
            f"config field num_train_steps={merged['num_train_steps']} is {num_updates:,} updates of "
            f"{steps_per_update:,} env steps: expected at most {MAX_UPDATES:,} updates "
            f"(num_train_steps <= {MAX_UPDATES * steps_per_update:,})"
        )
    typed = {name: merged[name] for name in CONFIG_FIELDS}
    for name in ("mlp_hidden_sizes", "learner_device_ids", "tasks"):
        typed[name] = None if typed[name] is None else tuple(typed[name])
    typed.update(resolve_network_choices(merged))
    return Settings(
        config=merged,
        **typed,
        rollouts_per_batch=merged["batch_size"] // merged["num_envs"],
        steps_per_update=steps_per_update,
        num_updates=num_updates,
        actor_layout=layout.note,
        hsuanwu_form=hsuanwu_form,
        config_notes=tuple(notes),
    )


def _given_fields(given: dict[str, Any], defaults: dict[str, Any], env: EnvFacts, host: HostFacts):
    """`(fields, notes, hsuanwu_form)`: the config's own fields (Hsuanwu's tree translated, with `notes`
    on what the translation changed), the train env's task filled in or checked; unknown names refused."""
    notes: list[str] = []
    hsuanwu_form = is_hsuanwu_tree(given)
    if hsuanwu_form:
        given, notes = translate(given, defaults, env, host)
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
    return given, notes, hsuanwu_form
