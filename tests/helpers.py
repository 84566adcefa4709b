"""What several test modules share: small configs, fake and gymnasium envs, the command line, random
trajectories, a float64 V-trace reference and a learner set-up. Test modules import from here, never
from each other."""

import csv
import functools
import json
import pathlib
import threading

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
from fakes import CountingEnv

from hsuanwu_jax import default_config
from hsuanwu_jax.agent.data_parallel import DataParallelUpdate, data_parallel
from hsuanwu_jax.agent.losses import LossHyperParams, make_impala_loss
from hsuanwu_jax.agent.networks import ImpalaNetwork
from hsuanwu_jax.agent.optim import LearningRate, make_optimizer
from hsuanwu_jax.agent.update import make_update_fns
from hsuanwu_jax.cli.train import train_command
from hsuanwu_jax.core import popart
from hsuanwu_jax.core.distributions import Categorical
from hsuanwu_jax.core.spec import EnvFacts
from hsuanwu_jax.core.types import LearnerState, Trajectory
from hsuanwu_jax.parallel.mesh import BATCH_AXIS, fetch, learner_mesh, replicate, shard_trajectory

ROOT = pathlib.Path(__file__).resolve().parents[1]


def tiny_config(tmp_path, **overrides):
    cfg = default_config()
    cfg.update(
        dict(
            num_actors=2,
            num_envs=4,
            batch_size=8,
            num_steps=5,
            num_train_steps=2_000,
            log_every=400,
            mlp_hidden_sizes=(16,),
            num_test_episodes=3,
            workdir=str(tmp_path),
        )
    )
    cfg.update(overrides)
    return cfg


def fake_envs(cfg, **kwargs):
    return [CountingEnv([5 + k, 7, 9, 11], **kwargs) for k in range(cfg.num_actors)]


def trainer_for(cfg, envs=None, test_env=None):
    """A trainer on fake envs (`fake_envs(cfg)` unless `envs` are given) with a 1-env fake test env."""
    from hsuanwu_jax import DistributedTrainer

    return DistributedTrainer(cfg, train_env=envs or fake_envs(cfg), test_env=test_env or CountingEnv([3]))


def checkpoint_steps(workdir):
    """The env steps of the checkpoint directories in `workdir`, oldest first."""
    directory = pathlib.Path(workdir, "checkpoints")
    return sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit()) if directory.exists() else []


def actor_threads():
    return [t for t in threading.enumerate() if t.name.startswith("actor-")]


def cli(workdir, *overrides):
    """The command line on the CartPole config with a short test and log interval, plus `overrides`."""
    config = str(ROOT / "configs/impala_cartpole.py")
    return train_command(config, str(workdir), *overrides, num_test_episodes=4, test_every=0, log_every=10000)


def gym_cartpoles(num_envs, **kwargs):
    return gymnasium.vector.SyncVectorEnv([lambda: gymnasium.make("CartPole-v1")] * num_envs, **kwargs)


def reference_vtrace(log_rhos, discounts, rewards, values, bootstrap, rho_bar, pg_rho_bar, lambda_):
    """The IMPALA paper's definition, step by step in float64, one env and one time step at a time."""
    log_rhos, discounts, rewards, values, bootstrap = (
        np.asarray(x, np.float64) for x in (log_rhos, discounts, rewards, values, bootstrap)
    )
    num_steps, batch = rewards.shape
    vs = np.zeros((num_steps, batch))
    pg = np.zeros((num_steps, batch))
    for b in range(batch):
        next_vs, next_value = bootstrap[b], bootstrap[b]
        for t in reversed(range(num_steps)):
            rho = np.exp(log_rhos[t, b])
            clipped_rho = rho if rho_bar is None else min(rho_bar, rho)
            c = lambda_ * min(1.0, rho)
            delta = clipped_rho * (rewards[t, b] + discounts[t, b] * next_value - values[t, b])
            vs[t, b] = values[t, b] + delta + discounts[t, b] * c * (next_vs - next_value)
            pg_rho = rho if pg_rho_bar is None else min(pg_rho_bar, rho)
            pg[t, b] = pg_rho * (rewards[t, b] + discounts[t, b] * next_vs - values[t, b])
            next_vs, next_value = vs[t, b], values[t, b]
    return vs, pg


T, B, A = 6, 3, 4  # random_trajectory's shape: T steps (T+1 entries), B envs, A actions


def random_trajectory(seed, obs=None) -> Trajectory:
    """A trajectory with an episode that terminates (entry 2) and one that is truncated (entry 4)."""
    rng = np.random.default_rng(seed)
    done = np.zeros((T + 1, B), bool)
    terminated = np.zeros((T + 1, B), bool)
    done[2, 0] = terminated[2, 0] = True  # env 0: terminal observation at entry 2
    done[4, 1] = True  # env 1: truncated at entry 4 (bootstrap from its value)
    first = np.zeros((T + 1, B), bool)
    first[1:] = done[:-1]
    reward = rng.normal(size=(T + 1, B)).astype(np.float32)
    reward[first] = 0.0
    return Trajectory(
        obs=obs if obs is not None else rng.normal(size=(T + 1, B, 2)).astype(np.float32),
        first=first,
        prev_action=rng.integers(0, A, (T + 1, B)).astype(np.int32),
        reward=reward,
        done=done,
        terminated=terminated,
        action=rng.integers(0, A, (T + 1, B)).astype(np.int32),
        behaviour_log_prob=np.log(rng.uniform(0.05, 0.9, (T + 1, B))).astype(np.float32),
        task=np.zeros((T + 1, B), np.int32),
        initial_core_state=(),
    )


def learner_setup(
    rate=None,
    devices=None,
    envs_per_copy=1,
    dtype=np.float32,
    num_chunks=1,
    obs_norm=False,
    num_epochs=1,
    num_minibatches=1,
    copies_differ=False,
):
    """A learner step on a mesh of `devices` (default: the first device) and a fixed batch: the
    random test trajectory repeated `envs_per_copy` times along B (`copies_differ`: copy i drawn with seed i),
    each device's share processed in `num_chunks` pieces, `num_epochs` passes per update of `num_minibatches`
    optimizer steps each, at the `LearningRate` `rate` (default lr 1e-2 over 100 optimizer steps); `obs_norm`: the
    network normalises its observations (offset by 5 and scaled by 3, so the statistics move). With `dtype=np.float64` (x64 enabled by the caller) the params and the batch's
    float fields are float64, so the update is too. `traces` counts the loss's traces."""
    network = ImpalaNetwork(action_size=4, mlp_hidden_sizes=(16,), obs_norm=obs_norm)
    copies = [random_trajectory(i if copies_differ else 0) for i in range(envs_per_copy)]
    traj = jax.tree.map(lambda *xs: np.concatenate(xs, axis=1), *copies)
    if obs_norm:
        traj = traj._replace(obs=5.0 + 3.0 * traj.obs)
    traj = jax.tree.map(lambda x: x.astype(dtype) if x.dtype == np.float32 else x, traj)
    params = network.init(jax.random.PRNGKey(0), traj.obs, traj.prev_action, traj.reward, traj.first, ())
    params = jax.tree.map(lambda x: x.astype(dtype), params)
    rate = rate or LearningRate(1e-2, 0, 100)
    optimizer = functools.partial(make_optimizer, eps=0.01, alpha=0.99, max_grad_norm=40.0)
    loss_fn = make_impala_loss(
        apply_fn=network.apply,
        distribution=Categorical,
        hyper=LossHyperParams(discount=0.9, baseline_coef=0.5, ent_coef=0.01),
    )
    traces = []

    def counted_loss(*args):
        traces.append(1)
        return loss_fn(*args)

    mesh = learner_mesh(devices or jax.devices()[:1])
    fns = make_update_fns(
        loss_fn=counted_loss,
        optimizer=optimizer,
        axis_name=BATCH_AXIS,
        num_chunks=num_chunks,
        num_minibatches=num_minibatches,
    )
    step = DataParallelUpdate(fns, mesh, rate, num_epochs)
    state = replicate(LearnerState(params, optimizer(rate).init(params), jnp.zeros((), jnp.int32)), mesh)
    return step, state, traj, mesh, loss_fn, traces


def network_params_and_loss(traj, use_popart, num_tasks=1):
    """A small network (with `num_tasks` value outputs), its params for `traj`, and its IMPALA loss with or
    without PopArt."""
    network = ImpalaNetwork(action_size=4, mlp_hidden_sizes=(16,), num_tasks=num_tasks)
    params = network.init(jax.random.PRNGKey(0), traj.obs, traj.prev_action, traj.reward, traj.first, ())
    loss_fn = make_impala_loss(
        apply_fn=network.apply,
        distribution=Categorical,
        hyper=LossHyperParams(discount=0.9, baseline_coef=0.5, ent_coef=0.01, popart=use_popart),
    )
    return network, params, loss_fn


# Hsuanwu's IMPALA tree, every key it uses (impala.yaml and base_policy_trainer._MANDATORY_CFGS).
HSUANWU_TREE = {
    "experiment": "impala_pong",
    "device": "cuda:0",
    "seed": 7,
    "num_train_steps": 30_000,
    "num_actors": 2,
    "num_learners": 4,
    "num_steps": 10,
    "test_every_episodes": 10,
    "test_every_steps": 5000,
    "num_test_episodes": 3,
    "pretraining": False,
    "init_model_path": None,
    "num_init_steps": 2000,
    "encoder": {"name": "MnihCnnEncoder", "feature_dim": 512},
    "agent": {
        "name": "IMPALA",
        "lr": 6e-4,
        "eps": 0.02,
        "use_lstm": True,
        "ent_coef": 0.003,
        "baseline_coef": 0.25,
        "max_grad_norm": 10.0,
        "discount": 0.98,
        "network_init_method": "orthogonal",
    },
    "storage": {"name": "DistributedStorage", "num_storages": 60, "batch_size": 8},
    "distribution": {"name": "Categorical"},
    "augmentation": {"name": None},
    "reward": {"name": None},
}
PONG = EnvFacts(total_envs=16, env_id="Pong-v5", env_kwargs={"episodic_life": True}, obs_rank=3)


def read_csv(path):
    """The rows of a CSV file as dicts."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def with_keys(tree, **changes):
    """`tree` with top-level keys or "section.key" entries replaced."""
    tree = json.loads(json.dumps(tree))
    for path, value in changes.items():
        section, _, key = path.partition("__")
        if key:
            tree[section][key] = value
        else:
            tree[section] = value
    return tree


# Multi-task PopArt (agent/test_multi_task_popart.py, the scale-out worker): 12 envs (4 random trajectories of 3), tasks 0 and 2 of 3 mixed over them; task 1 has no env in the batch.
ENV_TASKS = np.array([0, 0, 2, 2, 0, 2, 0, 2, 0, 2, 2, 0], np.int32)
# NumPy, not JAX, arrays: importing helpers must not start JAX's backend (the scale-out worker joins
# jax.distributed first)
STATS = popart.PopArtStats(
    mean=np.float32([1.0, -2.0, 5.0]),
    variance=np.float32([4.0, 9.0, 0.25]),
    reward_min=np.float32([-0.5, -1.0, 0.0]),
    reward_max=np.float32([0.0, 1.0, 0.5]),
)


def mixed_batch():
    traj = jax.tree.map(
        lambda *xs: np.concatenate(xs, axis=1), *[random_trajectory(seed) for seed in range(4)]
    )
    return traj._replace(task=np.broadcast_to(ENV_TASKS, traj.task.shape).copy())


def learner(num_tasks, devices=None, step_size=0.5):
    """(network, initial params for the mixed batch, a jitted learner step at lr 0 with PopArt's `step_size`,
    the loss, its mesh): with lr 0 only PopArt's statistics and rescale change the params."""
    network, params, loss_fn = network_params_and_loss(mixed_batch(), use_popart=True, num_tasks=num_tasks)
    rate = LearningRate(0.0, 0, 10)
    optimizer = functools.partial(make_optimizer, eps=0.01, alpha=0.99, max_grad_norm=40.0)
    fns = make_update_fns(
        loss_fn=loss_fn,
        optimizer=optimizer,
        axis_name=BATCH_AXIS,
        popart_rule=popart.PopArtRule(step_size, 0.0, 1.0),
    )
    mesh = learner_mesh(devices or jax.devices()[:1])
    step = data_parallel(fns.step, mesh)

    def run(params, stats, traj):
        state = LearnerState(params, optimizer(rate).init(params), jnp.zeros((), jnp.int32), stats)
        new_state, _ = step(replicate(state, mesh), shard_trajectory(traj, mesh), rate, np.int32(0))
        return fetch(new_state)

    return network, params, run
