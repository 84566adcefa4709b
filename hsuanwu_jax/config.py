"""Configuration: the default config with every field explained, and the one validating function.

Configs are `ml_collections.ConfigDict`s (a plain dict or an omegaconf config is converted). They
are read-only once loaded: `validate` checks every field and returns a frozen `Settings` with
the derived sizes; nothing is written back into the config.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.resources
import importlib.util
import math
import pathlib
from collections.abc import Mapping
from typing import Any

import ml_collections
from ml_collections.config_dict import placeholder  # a None default that the command line can set

from hsuanwu_jax.networks import ENCODERS, WEIGHT_INITS

PROGRESS_MODES = ("bar", "lines", "none")
ACTOR_MODES = ("auto", "python", "xla")  # xla: EnvPool's XLA interface, EnvPool envs on CPU or GPU devices


def default_config() -> ml_collections.ConfigDict:
    """Defaults: the seed's IMPALA hyperparameters on CartPole-v1."""
    cfg = ml_collections.ConfigDict()
    # Environment (EnvPool).
    cfg.env_id = "CartPole-v1"  # any id in envpool.list_all_envs()
    cfg.env_kwargs = ml_collections.ConfigDict()  # extra envpool.make arguments, e.g. episodic_life
    cfg.test_env_kwargs = ml_collections.ConfigDict()  # overrides of env_kwargs for test()
    cfg.seed = 1  # seeds params, actions and envs (env i of the run gets seed + i)
    # Actors.
    cfg.num_actors = 2  # actor threads, each stepping its own EnvPool env
    cfg.num_envs = 32  # envs per actor thread (the EnvPool batch)
    cfg.env_threads = 1  # EnvPool C++ threads per actor env
    cfg.num_steps = 20  # unroll length T: env steps per rollout
    cfg.queue_size = 1  # finished rollouts waiting for the learner; bounds the policy lag
    cfg.actor_mode = "auto"  # "xla": each rollout one jitted scan; "python": a loop; "auto": xla where it can
    # Learner.
    cfg.batch_size = 32  # env rollouts per update (a multiple of num_envs); samples = T * batch_size
    cfg.num_train_steps = 1_000_000  # env steps (all actors together) to train for
    cfg.learner_chunks = 0  # pieces of each device's batch, gradients added (same update); 0: per backend
    cfg.lr = 4e-4  # RMSProp learning rate, decayed linearly to 0 over num_train_steps
    cfg.lr_warmup_steps = 0  # env steps of a linear rise of the learning rate from 0 (with init_model_path)
    cfg.alpha = 0.99  # RMSProp smoothing constant
    cfg.eps = 0.01  # RMSProp epsilon, added outside the square root as in PyTorch
    cfg.max_grad_norm = 40.0  # global-norm gradient clipping
    cfg.discount = 0.99  # gamma
    cfg.baseline_coef = 0.5  # weight of the baseline loss 0.5 * sum (vs - V)^2
    cfg.ent_coef = 0.01  # weight of the entropy bonus
    cfg.reward_scale = 1.0  # multiplies rewards in the loss (e.g. 0.1 where returns are in the hundreds)
    cfg.clip_rho_threshold = 1.0  # V-trace rho-bar (None: no clipping)
    cfg.clip_pg_rho_threshold = 1.0  # V-trace rho-bar for the policy gradient (None: no clipping)
    cfg.vtrace_lambda = 1.0  # V-trace lambda
    # Network.
    cfg.encoder = "mlp"  # one of "mlp" (vectors), "nature_cnn", "resnet" (uint8 frames)
    cfg.mlp_hidden_sizes = (64, 64)  # hidden layers of the mlp encoder
    cfg.use_lstm = False  # an LSTM core after the encoder
    cfg.lstm_size = 256  # LSTM hidden units
    cfg.weight_init = "lecun"  # Flax's default, or "orthogonal" (gains: sqrt 2 hidden, 0.01 policy, 1 value)
    cfg.init_model_path = ""  # a model export (trainer.save()) to start training from ("": fresh params)
    # Devices (ids from jax.local_devices(); None: defaults).
    cfg.learner_device_ids = placeholder(tuple)  # None: every local device (multi-host: None, all)
    cfg.actor_device_id = placeholder(int)  # None: the first local device
    # Many hosts (jax.distributed). Every process runs the same command with its own process_id.
    cfg.multi_host = False  # join a multi-process run; batch_size is then per process
    cfg.coordinator_address = ""  # "host:port" of process 0; "" with multi_host: auto-detect (TPU VM, SLURM)
    cfg.num_processes = placeholder(int)  # processes in the run (None: auto-detect)
    cfg.process_id = placeholder(int)  # this process's index in [0, num_processes) (None: auto-detect)
    cfg.distributed_timeout_seconds = 300  # give up joining the run after this many seconds
    # Evaluation, logging, outputs.
    cfg.num_test_episodes = 20  # greedy episodes in test()
    cfg.test_every = 0  # env steps between greedy test() runs logged as test_* fields (0: never)
    cfg.log_every = 20_000  # env steps between metrics.jsonl lines
    cfg.progress = "bar"  # "bar": a tqdm bar plus a line per log step; "lines": the lines only; "none"
    cfg.tensorboard = False  # also write TensorBoard event files to <workdir>/tensorboard
    cfg.wandb_project = ""  # a Weights & Biases project to log to ("": off; needs `pip install wandb`)
    cfg.wandb_entity = ""  # the W&B team or user ("": your default entity)
    cfg.checkpoint_every = 1_000_000  # env steps between checkpoints (0: only when training stops)
    cfg.checkpoint_keep = 3  # newest checkpoints kept in <workdir>/checkpoints
    cfg.workdir = ""  # where metrics.jsonl and exports go; "" means runs/<env_id>
    return cfg


@dataclasses.dataclass(frozen=True)
class Settings:
    """A validated config plus the sizes derived from it."""

    config: Mapping[str, Any]
    rollouts_per_batch: int  # actor rollouts concatenated into one learner batch
    steps_per_update: int  # env steps consumed by one update: num_steps * batch_size * processes
    num_updates: int  # updates needed to reach num_train_steps

    def __getattr__(self, name: str) -> Any:
        if name == "config":  # not yet set (copying, unpickling): no recursion
            raise AttributeError(name)
        try:
            return self.config[name]
        except KeyError:
            raise AttributeError(name) from None


def load_config(path_or_preset: str) -> ml_collections.ConfigDict:
    """The config of a file with `get_config()` (e.g. "configs/impala_atari.py"), or of a preset name
    (e.g. "impala_atari": the repository's configs/, installed as the package `hsuanwu_jax.configs`)."""
    path = pathlib.Path(path_or_preset)
    presets_dir = pathlib.Path(str(importlib.resources.files("hsuanwu_jax.configs")))
    if not path.suffix:
        path = presets_dir / f"{path_or_preset}.py"
    if not path.is_file():
        presets = sorted(p.stem for p in presets_dir.glob("*.py") if p.stem != "__init__")
        raise FileNotFoundError(f"no config file {str(path)!r}; presets: {presets}")
    spec = importlib.util.spec_from_file_location(f"hsuanwu_jax_config_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config()


def to_config_dict(cfg) -> ml_collections.ConfigDict:
    """A ConfigDict from a ConfigDict, a Mapping, an omegaconf DictConfig, or a preset name or path."""
    if isinstance(cfg, ml_collections.ConfigDict):
        return cfg
    if isinstance(cfg, (str, pathlib.Path)):
        return load_config(str(cfg))
    if hasattr(cfg, "_metadata") and hasattr(cfg, "keys"):  # omegaconf.DictConfig
        from omegaconf import OmegaConf

        cfg = OmegaConf.to_container(cfg, resolve=True)
    if isinstance(cfg, Mapping):
        return ml_collections.ConfigDict(dict(cfg))
    raise TypeError(
        f"config must be a ConfigDict, a dict, an omegaconf DictConfig or a preset name, not {type(cfg).__name__}"
    )


def _non_negative_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _positive_int(value) -> bool:
    return _non_negative_int(value) and value > 0


def _number(low: float, high: float = math.inf, optional: bool = False):
    def check(value) -> bool:
        if value is None:
            return optional
        return isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high

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
    "actor_mode": (lambda v: v in ACTOR_MODES, f"one of {ACTOR_MODES}"),
    "batch_size": (_positive_int, "an integer >= 1"),
    "num_train_steps": (_positive_int, "an integer >= 1"),
    "learner_chunks": (_non_negative_int, "0 (per backend) or an integer dividing each device's batch"),
    "lr": (_number(0.0), "a number >= 0"),
    "lr_warmup_steps": (_non_negative_int, "an integer >= 0 (env steps)"),
    "alpha": (_number(0.0, 1.0), "a number in [0, 1]"),
    "eps": (_number(0.0), "a number >= 0"),
    "max_grad_norm": (_number(1e-12), "a number > 0"),
    "discount": (_number(0.0, 1.0), "a number in [0, 1]"),
    "baseline_coef": (_number(0.0), "a number >= 0"),
    "ent_coef": (_number(0.0), "a number >= 0"),
    "reward_scale": (_number(1e-12), "a number > 0"),
    "clip_rho_threshold": (_number(1e-12, optional=True), "a number > 0 or None"),
    "clip_pg_rho_threshold": (_number(1e-12, optional=True), "a number > 0 or None"),
    "vtrace_lambda": (_number(0.0, 1.0), "a number in [0, 1]"),
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
    "coordinator_address": (lambda v: isinstance(v, str), 'a "host:port" string, or "" to auto-detect'),
    "num_processes": (lambda v: v is None or _positive_int(v), "None or an integer >= 1"),
    "process_id": (lambda v: v is None or _non_negative_int(v), "None or an integer >= 0"),
    "distributed_timeout_seconds": (_positive_int, "an integer >= 1 (seconds)"),
    "checkpoint_every": (_non_negative_int, "an integer >= 0 (env steps)"),
    "checkpoint_keep": (_positive_int, "an integer >= 1"),
    "workdir": (lambda v: isinstance(v, str), "a path"),
}


def validate(cfg, num_processes: int = 1) -> Settings:
    """Checks every field of `cfg` (unknown names, types, ranges, divisibility) and derives sizes.

    Missing fields take their defaults. `num_processes` is the number of processes that train
    together (each contributes `batch_size` envs to every update). Raises ValueError naming the
    field and what it accepts.
    """
    given = to_config_dict(cfg).to_dict()
    defaults = default_config().to_dict()
    for name in given:
        if name not in defaults:
            close = difflib.get_close_matches(name, defaults, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown config field {name!r}{hint}")
    merged = {**defaults, **given}
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
    return Settings(
        config=merged,
        rollouts_per_batch=merged["batch_size"] // merged["num_envs"],
        steps_per_update=steps_per_update,
        num_updates=math.ceil(merged["num_train_steps"] / steps_per_update),
    )
