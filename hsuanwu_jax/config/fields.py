"""The categories of config fields that other modules act on, and the choices of the fields that take a
name, declared once."""

from __future__ import annotations

# The categories of fields that other modules act on, declared once.
# Fields that fix the shapes of the checkpointed state: a checkpoint cannot be resumed with other values.
STATE_SHAPE_FIELDS = (
    "env_id",
    "encoder",
    "mlp_hidden_sizes",
    "use_lstm",
    "lstm_size",
    "num_actors",
    "popart",
)


# Fields that, with the env's spaces, define the network: stored in model exports.
NETWORK_FIELDS = ("encoder", "mlp_hidden_sizes", "use_lstm", "lstm_size", "weight_init")


# Fields that change what a run writes or shows, never what it learns.
OUTPUT_FIELDS = (
    "workdir",
    "experiment",
    "verbosity",
    "compile_cache_dir",
    "progress",
    "tensorboard",
    "wandb_project",
    "wandb_entity",
    "log_every",
    "checkpoint_every",
    "checkpoint_keep",
)


# Fields that place a run on hosts and devices.
PLACEMENT_FIELDS = (
    "learner_device_ids",
    "actor_device_id",
    "multi_host",
    "coordinator_address",
    "num_processes",
    "process_id",
    "distributed_timeout_seconds",
)


ENCODERS = ("mlp", "nature_cnn", "resnet")


WEIGHT_INITS = ("lecun", "orthogonal")


PROGRESS_MODES = ("bar", "lines", "none")


VERBOSITIES = ("warning", "info", "debug")


ACTOR_MODES = ("auto", "python", "xla")  # xla: EnvPool's XLA interface, EnvPool envs on CPU or GPU devices
