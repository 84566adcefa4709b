"""Run in a subprocess by test_scale_out.py (device flags and jax.distributed must come before JAX
starts). Prints one JSON object per line.

    python tests/scale_out_worker.py same_update
    python tests/scale_out_worker.py indivisible WORKDIR
    python tests/scale_out_worker.py cartpole WORKDIR
    python tests/scale_out_worker.py multihost PORT PROCESS_ID WORKDIR UPDATES
"""

import hashlib
import json
import pathlib
import sys

import jax
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from hsuanwu_jax import sharding


def same_update() -> None:
    """Three updates on the same fixed batch, on a 1-device mesh and on a mesh of every device."""
    from test_learner import setup

    params = {}
    for name, devices in (("one", jax.devices()[:1]), ("all", jax.devices())):
        step, state, traj, mesh, _, _ = setup(devices=devices, envs_per_copy=jax.device_count())
        for _ in range(3):
            state, _ = step(state, sharding.shard_trajectory(traj, mesh))
        params[name] = sharding.fetch(state.params)
    errors = jax.tree.map(
        lambda a, b: float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-3))), params["all"], params["one"]
    )
    print(
        json.dumps({"devices": jax.device_count(), "max_relative_difference": max(jax.tree.leaves(errors))})
    )


def indivisible(workdir: str) -> None:
    """A batch that cannot be split over the devices: the error message, as JSON."""
    from fakes import CountingEnv
    from test_trainer import tiny_config

    from hsuanwu_jax import DistributedTrainer

    cfg = tiny_config(workdir, num_actors=1, num_envs=2, batch_size=6)
    try:
        DistributedTrainer(cfg, train_env=[CountingEnv([3, 4])], test_env=CountingEnv([3]))
    except ValueError as error:
        print(json.dumps({"error": str(error)}))


def cartpole(workdir: str) -> None:
    """The CI learning test's run, with the learner on every device."""
    from test_trainer import load_config

    from hsuanwu_jax import DistributedTrainer, make_env

    cfg = load_config("impala_cartpole")
    cfg.update(dict(num_train_steps=200_000, log_every=50_000, test_every=0, workdir=workdir))
    trainer = DistributedTrainer(cfg, train_env=make_env(cfg), test_env=make_env(cfg, test=True))
    trainer.train()
    print(
        json.dumps({"learner_devices": trainer._mesh.size, "test_return": trainer.test()["episode_reward"]})
    )


def multihost(port: str, process_id: str, workdir: str, updates: str) -> None:
    """One of two processes training together on fake envs, one update per train() call."""
    from fakes import CountingEnv
    from test_trainer import tiny_config

    from hsuanwu_jax import DistributedTrainer

    cfg = tiny_config(
        workdir,
        num_train_steps=10**6,
        checkpoint_every=0,
        multi_host=True,
        coordinator_address=f"127.0.0.1:{port}",
        num_processes=2,
        process_id=int(process_id),
        distributed_timeout_seconds=60,
    )
    envs = [CountingEnv([5 + k + 3 * int(process_id), 7, 9, 11]) for k in range(cfg.num_actors)]
    trainer = DistributedTrainer(cfg, train_env=envs, test_env=CountingEnv([3]))

    def report(trainer, event):
        flat = np.concatenate([np.ravel(x) for x in jax.tree.leaves(sharding.fetch(trainer.state.params))])
        print(
            json.dumps(
                {
                    "event": event,
                    "process": jax.process_index(),
                    "env_steps": trainer.env_steps,
                    "update": trainer._update_step(),
                    "params_sha1": hashlib.sha1(flat.tobytes()).hexdigest(),
                }
            ),
            flush=True,
        )

    for _ in range(int(updates)):
        trainer.train(num_steps=1)  # one update: the smallest step count it can take
        report(trainer, "update")
    trainer.close()
    # Every train() call ended with a (multi-host) checkpoint: a new trainer resumes from it.
    resumed = DistributedTrainer(cfg, train_env=envs, test_env=CountingEnv([3]))
    report(resumed, "resumed")
    resumed.close()


if __name__ == "__main__":
    modes = {
        "same_update": same_update,
        "indivisible": indivisible,
        "cartpole": cartpole,
        "multihost": multihost,
    }
    modes[sys.argv[1]](*sys.argv[2:])
