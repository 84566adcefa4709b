"""The categories of config fields that other modules act on, and the choices of the fields that take a
name, declared once."""

from __future__ import annotations

# The categories of fields that other modules act on, declared once.
# Fields that, with the env's spaces, define the network: stored in model exports.
NETWORK_FIELDS = (
    "encoder",
    "mlp_hidden_sizes",
    "use_lstm",
    "lstm_size",
    "value_network",
    "obs_norm",
    "action_squash",
    "initial_action_std",
    "weight_init",
)
# What a config stored before these fields existed (a checkpoint's, an export's) meant by leaving them out.
LEGACY_NETWORK_DEFAULTS = {
    "value_network": "shared",
    "obs_norm": False,
    "action_squash": "mean",
    "initial_action_std": 1.0,
}
# Network fields that only choose the initial params: an export's params stand for them.
INIT_ONLY_FIELDS = ("weight_init", "initial_action_std")
# Fields that fix the shapes (or the meaning) of the checkpointed state: a checkpoint cannot be resumed with
# other values. The network's, but those that only choose the initial params.
STATE_SHAPE_FIELDS = (
    "env_id",
    "tasks",
    *(field for field in NETWORK_FIELDS if field not in INIT_ONLY_FIELDS),
    "num_actors",
    "popart",
)


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


RESOLVED_VALUE_NETWORKS = ("shared", "separate")  # what a network is built with (an export stores one)
VALUE_NETWORKS = ("auto", *RESOLVED_VALUE_NETWORKS)  # what a config may say ("auto": resolve_network_choices)


ACTION_SQUASHES = ("sample", "mean")  # how a Gaussian policy keeps its actions within a Box's bounds


def resolve_network_choices(config) -> dict:
    """What a config's `value_network` and `obs_norm` mean for its network: value_network "separate" or
    "shared" ("auto": separate for the mlp encoder without an LSTM core), obs_norm only with the mlp encoder
    (frames are scaled to [0, 1] instead). Fields missing from an older stored config take their meaning
    then (`LEGACY_NETWORK_DEFAULTS`)."""
    config = {**LEGACY_NETWORK_DEFAULTS, **config}
    value_network = config["value_network"]
    if value_network == "auto":
        value_network = "separate" if config["encoder"] == "mlp" and not config["use_lstm"] else "shared"
    return {
        "value_network": value_network,
        "obs_norm": bool(config["obs_norm"]) and config["encoder"] == "mlp",
        "action_squash": config["action_squash"],
    }


PROGRESS_MODES = ("auto", "bar", "lines", "none")


TEST_POLICIES = ("greedy", "sampled")


VERBOSITIES = ("warning", "info", "debug")


ACTOR_MODES = ("auto", "python", "xla")  # xla: EnvPool's XLA interface, EnvPool envs on CPU or GPU devices
