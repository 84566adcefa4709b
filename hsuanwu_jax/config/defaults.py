"""The default config: every field, with its meaning in the comment on its line (the documentation's
configuration reference and `python -m hsuanwu_jax.config_table` are generated from these comments:
config/reference.py)."""

from __future__ import annotations

import ml_collections
from ml_collections.config_dict import placeholder  # a None default that the command line can set

DEFAULT_COMPILE_CACHE = "~/.cache/hsuanwu_jax/jax"  # per user


def auto_or_int() -> ml_collections.FieldReference:
    """A field whose default is "auto" and which also takes a number (`cfg.num_actors = 4`,
    `--config.num_actors=4`): a plain "auto" would make it a string field, which refuses numbers."""
    return ml_collections.FieldReference("auto", field_type=object)


def default_config() -> ml_collections.ConfigDict:
    """Defaults: the seed's IMPALA hyperparameters on CartPole-v1 (the fields section by section below, in
    the order of the configuration reference)."""
    cfg = ml_collections.ConfigDict()
    for section in (_environment, _actors, _learner, _network, _devices, _many_hosts, _outputs):
        section(cfg)
    return cfg


def _environment(cfg: ml_collections.ConfigDict) -> None:
    # Environment (EnvPool).
    cfg.env_id = "CartPole-v1"  # any id in envpool.list_all_envs()
    cfg.tasks = ()  # EnvPool ids learned together by one agent (one obs shape and action set); (): env_id
    cfg.env_kwargs = ml_collections.ConfigDict()  # extra envpool.make arguments, e.g. episodic_life
    cfg.test_env_kwargs = ml_collections.ConfigDict()  # overrides of env_kwargs for test()
    cfg.seed = 1  # seeds params, actions and envs (env i of the run gets seed + i)


def _actors(cfg: ml_collections.ConfigDict) -> None:
    # Actors.
    cfg.num_actors = auto_or_int()  # actor threads, each stepping its own EnvPool env ("auto": sizing.py)
    cfg.num_envs = 32  # envs per actor thread (the EnvPool batch)
    cfg.env_threads = auto_or_int()  # EnvPool C++ threads per actor env ("auto": sizing.py)
    cfg.num_steps = 20  # unroll length T: env steps per rollout
    cfg.queue_size = 1  # finished rollouts waiting for the learner; bounds the policy lag
    cfg.actor_timeout_seconds = 600  # seconds a first rollout or test step may take, the cap (0: no limit)
    cfg.stall_factor = 10.0  # later ones over this many times the slowest so far are stuck (0: off)
    cfg.stall_floor_seconds = 30.0  # the least stall_factor's limit may be (seconds)
    cfg.actor_mode = "auto"  # "xla": each rollout one jitted scan; "python": a loop; "auto": xla where it can


def _learner(cfg: ml_collections.ConfigDict) -> None:
    # Learner.
    cfg.batch_size = 32  # env rollouts per update (a multiple of num_envs); samples = T * batch_size
    cfg.num_train_steps = 1_000_000  # env steps (all actors together) to train for
    cfg.learner_chunks = auto_or_int()  # minibatch pieces per device, gradients summed ("auto"/0: by backend)
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
    cfg.num_epochs = 1  # passes over each batch, V-trace recomputed for each (1: IMPALA's one pass)
    cfg.num_minibatches = 1  # optimizer steps per pass, each on an equal share of the batch's envs
    cfg.pg_ratio_clip = 0.0  # epsilon of a PPO-style clipped ratio on V-trace's advantages (0: IMPALA's)
    cfg.popart = False  # PopArt: value targets normalised by running statistics (Hessel et al. 2019)
    cfg.popart_step_size = 1e-2  # PopArt's beta per optimizer step (smaller adapt too slowly: RESULTS.md)
    cfg.popart_std_floor = 0.01  # PopArt's std >= this x the largest |reward| seen; 1 before any (0: none)


def _network(cfg: ml_collections.ConfigDict) -> None:
    # Network.
    cfg.encoder = "mlp"  # one of "mlp" (vectors), "nature_cnn", "resnet" (uint8 frames)
    cfg.mlp_hidden_sizes = (64, 64)  # hidden layers of the mlp encoder
    cfg.use_lstm = False  # an LSTM core after the encoder
    cfg.lstm_size = 256  # LSTM hidden units
    cfg.obs_norm = False  # running mean/variance normalisation of vector observations (mlp encoder)
    cfg.value_network = "auto"  # "separate" (own MLP torso), "shared", "auto": separate for mlp, no LSTM
    cfg.action_squash = "mean"  # Box bounds: "mean": tanh'd mean, clipped samples; "sample": tanh'd sample
    cfg.initial_action_std = 1.0  # the Gaussian's standard deviation before training (Box actions)
    cfg.weight_init = "lecun"  # Flax's default, or "orthogonal" (gains: sqrt 2 hidden, 0.01 policy, 1 value)
    cfg.init_model_path = ""  # a model export (trainer.save()) to start training from ("": fresh params)


def _devices(cfg: ml_collections.ConfigDict) -> None:
    # Devices (ids from jax.local_devices(); None: defaults).
    cfg.learner_device_ids = placeholder(tuple)  # None: every local device (multi-host: None, all)
    cfg.actor_device_id = placeholder(int)  # None: the first local device


def _many_hosts(cfg: ml_collections.ConfigDict) -> None:
    # Many hosts (jax.distributed). Every process runs the same command with its own process_id.
    cfg.multi_host = False  # join a multi-process run; batch_size is then per process
    cfg.coordinator_address = ""  # "host:port" of process 0; "" with multi_host: auto-detect (TPU VM, SLURM)
    cfg.num_processes = placeholder(int)  # processes in the run (None: auto-detect)
    cfg.process_id = placeholder(int)  # this process's index in [0, num_processes) (None: auto-detect)
    cfg.distributed_timeout_seconds = 300  # give up joining the run after this many seconds


def _outputs(cfg: ml_collections.ConfigDict) -> None:
    # Evaluation, logging, outputs.
    cfg.num_test_episodes = 20  # episodes in test()
    cfg.test_policy = "greedy"  # how test() acts: "greedy" (argmax / mean) or "sampled" (as the actors do)
    cfg.test_train_envs = False  # tests also play envs made with env_kwargs alone (e.g. the training levels)
    cfg.test_max_episode_steps = 108_000  # test() cuts episodes still running after this many env steps
    cfg.test_every = 0  # env steps between test() runs logged as test_* fields (0: never)
    cfg.log_every = 20_000  # env steps between metrics.jsonl lines
    cfg.progress = "auto"  # "bar" on a terminal or in a notebook, else "lines"; or "bar", "lines", "none"
    cfg.tensorboard = False  # also write TensorBoard event files to <workdir>/tensorboard
    cfg.wandb_project = ""  # a Weights & Biases project to log to ("": off; needs `pip install wandb`)
    cfg.wandb_entity = ""  # the W&B team or user ("": your default entity)
    cfg.checkpoint_every = 1_000_000  # env steps between checkpoints (0: only when training stops)
    cfg.checkpoint_keep = 3  # newest checkpoints kept in <workdir>/checkpoints
    cfg.workdir = ""  # where a run writes; "": a new runs/<experiment or env_id>/<date-time> per run
    cfg.experiment = ""  # a name for the run: the folder under runs/ when no workdir is given
    cfg.compile_cache_dir = DEFAULT_COMPILE_CACHE  # compiled programs kept across runs and resumes ("": off)
    cfg.verbosity = "warning"  # lowest level of absl/Orbax log messages shown: "warning", "info" or "debug"
