"""Run in a subprocess by test_scale_out.py (device flags and jax.distributed must come before JAX
starts). Prints one JSON object per line.

    python tests/scale_out_worker.py same_update
    python tests/scale_out_worker.py same_task_stats
    python tests/scale_out_worker.py indivisible WORKDIR
    python tests/scale_out_worker.py cartpole WORKDIR
    python tests/scale_out_worker.py multihost PORT PROCESS_ID WORKDIR UPDATES
    python tests/scale_out_worker.py multihost_failure PORT PROCESS_ID WORKDIR
    python tests/scale_out_worker.py multitask_multihost PORT PROCESS_ID WORKDIR
"""

import hashlib
import json
import os
import pathlib
import sys
import time

import jax
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from hsuanwu_jax.parallel.mesh import fetch, shard_trajectory
from hsuanwu_jax.run.workdir import new_run_directory


def same_update() -> None:
    """Three updates on the same fixed batch, on a 1-device mesh and on a mesh of every device (each device's
    share at once, and in 3 pieces), in float64 and in float32. Reports, per precision and way,
    max |params_all - params_one| / max |params_one - params_0|: the disagreement relative to how far the
    updates moved the params."""
    from helpers import learner_setup

    jax.config.update("jax_enable_x64", True)  # float64 where asked; float32 runs with x64 disabled
    result = {"devices": jax.device_count()}
    for dtype in (np.float64, np.float32):
        with jax.enable_x64(dtype == np.float64):
            params = {}
            ways = (
                ("one", jax.devices()[:1], 1),
                ("all", jax.devices(), 1),
                ("all_chunked", jax.devices(), 3),
            )
            for name, devices, num_chunks in ways:  # 3 envs per copy: 3 per device on every device
                step, state, traj, mesh, _, _ = learner_setup(
                    devices=devices, envs_per_copy=jax.device_count(), dtype=dtype, num_chunks=num_chunks
                )
                params["initial"] = fetch(state.params)
                for _ in range(3):
                    state, _ = step(state, shard_trajectory(traj, mesh))
                params[name] = fetch(state.params)
        assert all(x.dtype == dtype for x in jax.tree.leaves(params["all"]))
        largest = lambda tree: max(float(np.max(np.abs(x))) for x in jax.tree.leaves(tree))  # noqa: E731
        moved = largest(jax.tree.map(np.subtract, params["one"], params["initial"]))
        result[np.dtype(dtype).name] = {"max_update": moved}
        for name in ("all", "all_chunked"):
            disagreement = largest(jax.tree.map(np.subtract, params[name], params["one"]))
            result[np.dtype(dtype).name][f"relative_difference_{name}"] = disagreement / moved
    print(json.dumps(result))


def same_obs_stats() -> None:
    """Observation statistics after 3 updates on a 1-device mesh and on every device (at once, in 3 pieces),
    in float32, as JSON."""
    from helpers import learner_setup

    from hsuanwu_jax.core import obs_norm

    stats = {}
    ways = (("one", jax.devices()[:1], 1), ("all", jax.devices(), 1), ("all_chunked", jax.devices(), 3))
    for name, devices, num_chunks in ways:
        step, state, traj, mesh, _, _ = learner_setup(
            devices=devices, envs_per_copy=jax.device_count(), num_chunks=num_chunks, obs_norm=True
        )
        for _ in range(3):
            state, _ = step(state, shard_trajectory(traj, mesh))
        collection = fetch(state.params[obs_norm.COLLECTION])
        stats[name] = {key: np.asarray(value).tolist() for key, value in collection.items()}
    print(json.dumps({"devices": jax.device_count(), **stats}))


def same_task_stats() -> None:
    """Per-task PopArt statistics and value head after one update of a batch of two tasks (of three) on a
    1-device mesh and on every device, as JSON."""
    from helpers import STATS, learner, mixed_batch

    result = {"devices": jax.device_count()}
    for name, devices in (("one", jax.devices()[:1]), ("all", jax.devices())):
        _, params, run = learner(num_tasks=3, devices=devices)
        state = run(params, STATS, mixed_batch())
        head = state.params["params"]["baseline"]
        result[name] = {
            **{field: np.asarray(value).tolist() for field, value in state.value_stats._asdict().items()},
            "kernel": np.asarray(head["kernel"]).tolist(),
        }
    print(json.dumps(result))


def indivisible(workdir: str) -> None:
    """A batch that cannot be split over the devices: the error message, as JSON."""
    from fakes import CountingEnv
    from helpers import tiny_config

    from hsuanwu_jax import DistributedTrainer

    cfg = tiny_config(workdir, num_actors=1, num_envs=2, batch_size=6)
    try:
        DistributedTrainer(cfg, train_env=[CountingEnv([3, 4])], test_env=CountingEnv([3]))
    except ValueError as error:
        print(json.dumps({"error": str(error)}))


def cartpole(workdir: str) -> None:
    """The CI learning test's run, with the learner on every device."""
    from hsuanwu_jax import DistributedTrainer, load_config, make_env

    cfg = load_config("impala_cartpole")
    cfg.update(dict(num_train_steps=200_000, log_every=50_000, test_every=0, workdir=workdir))
    trainer = DistributedTrainer(cfg, train_env=make_env(cfg), test_env=make_env(cfg, test=True))
    trainer.train()
    print(
        json.dumps(
            {"learner_devices": trainer.plan.mesh.size, "test_return": trainer.test()["episode_reward"]}
        )
    )


def two_process_config(workdir: str, port: str, process_id: str, **overrides):
    """The tiny config for process `process_id` of a two-process run joined at 127.0.0.1:`port`."""
    from helpers import tiny_config

    return tiny_config(
        workdir,
        checkpoint_every=0,
        multi_host=True,
        coordinator_address=f"127.0.0.1:{port}",
        num_processes=2,
        process_id=int(process_id),
        distributed_timeout_seconds=60,
        **overrides,
    )


def multihost(port: str, process_id: str, workdir: str, updates: str) -> None:
    """One of two processes training together on fake envs, one update per train() call."""
    from fakes import CountingEnv

    from hsuanwu_jax import DistributedTrainer

    cfg = two_process_config(workdir, port, process_id, num_train_steps=10**6)
    envs = [CountingEnv([5 + k + 3 * int(process_id), 7, 9, 11]) for k in range(cfg.num_actors)]
    trainer = DistributedTrainer(cfg, train_env=envs, test_env=CountingEnv([3]))
    # A new run's directory is process 0's choice on every process, even where the names taken differ:
    # process 1 sees every name for the next minute taken already.
    parent = pathlib.Path(workdir, f"runs-{process_id}")
    if process_id == "1":
        for second in range(60):
            parent.joinpath(time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() + second))).mkdir(
                parents=True, exist_ok=True
            )
    print(json.dumps({"event": "run_directory", "name": os.path.basename(new_run_directory(str(parent)))}))

    def report(trainer, event):
        flat = np.concatenate([np.ravel(x) for x in jax.tree.leaves(fetch(trainer.state.params))])
        print(
            json.dumps(
                {
                    "event": event,
                    "process": jax.process_index(),
                    "env_steps": trainer.env_steps,
                    "update": trainer.learner.update_step(),
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
    # Process 1 cannot see the newest checkpoint (as if not yet on its disk): both resume from the one before.
    if jax.process_index() == 1:
        from hsuanwu_jax.run.checkpoint_store import CheckpointStore

        all_steps = CheckpointStore.steps
        CheckpointStore.steps = lambda self: all_steps(self)[:-1]
    agreed = DistributedTrainer(cfg, train_env=envs, test_env=CountingEnv([3]))
    report(agreed, "agreed")
    agreed.close()


def multitask_multihost(port: str, process_id: str, workdir: str) -> None:
    """One of two processes of a two-task run, one actor thread each: process p's thread plays task p. Prints
    its actors' tasks, the per-task PopArt statistics and a hash of the params after 3 updates."""
    from hsuanwu_jax import DistributedTrainer

    tasks = ("CartPole-v0", "CartPole-v1")
    cfg = two_process_config(workdir, port, process_id, num_actors=1, batch_size=4, tasks=tasks, popart=True)
    trainer = DistributedTrainer(cfg)
    for _ in range(3):
        trainer.train(num_steps=1)
    stats = fetch(trainer.learner.state.value_stats)
    flat = np.concatenate([np.ravel(x) for x in jax.tree.leaves(fetch(trainer.state.params))])
    print(
        json.dumps(
            {
                "actor_tasks": [actor.task for actor in trainer.actors],
                "stats": {k: np.asarray(v).tolist() for k, v in stats._asdict().items()},
                "params_sha1": hashlib.sha1(flat.tobytes()).hexdigest(),
            }
        ),
        flush=True,
    )
    trainer.close()


def multihost_failure(port: str, process_id: str, workdir: str) -> None:
    """One of two processes training together; process 1's envs fail after a few steps."""
    from fakes import CountingEnv

    from hsuanwu_jax import DistributedTrainer

    cfg = two_process_config(workdir, port, process_id, num_train_steps=10**7)
    fail_after = 30 if process_id == "1" else None
    envs = [CountingEnv([5, 7, 9, 11], fail_after=fail_after) for _ in range(cfg.num_actors)]
    trainer = DistributedTrainer(cfg, train_env=envs, test_env=CountingEnv([3]))
    print(json.dumps({"event": "training", "process": jax.process_index()}), flush=True)
    trainer.train()


if __name__ == "__main__":
    modes = {
        "multihost_failure": multihost_failure,
        "same_update": same_update,
        "same_obs_stats": same_obs_stats,
        "same_task_stats": same_task_stats,
        "indivisible": indivisible,
        "cartpole": cartpole,
        "multihost": multihost,
        "multitask_multihost": multitask_multihost,
    }
    modes[sys.argv[1]](*sys.argv[2:])
