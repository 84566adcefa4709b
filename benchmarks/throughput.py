"""Throughput of each stage of the training pipeline and of the whole, in one process and one run.

    python benchmarks/throughput.py --config configs/impala_cartpole.py [--seconds 10] [--set field=value ...]

Measures, in this order, with the config's envs, network and batch shape:
  first update  seconds from building the trainer to the end of its first update (compilation included);
  (a) env       the config's EnvPool envs alone (num_actors envs of num_envs, one thread each), random actions;
  (b) actors    the actor threads alone (env + policy inference + rollout assembly), rollouts consumed at once;
  (c) learner   updates alone on a batch of real rollouts of the training shape (T x batch_size env steps);
  (d) full      training (actors and learner together) after a warm-up.
Rates are env steps per second. Bounds from (b) and (c): serialized 1 / (1/b + 1/c) (acting and learning
never overlap) and overlapped min(b, c) (perfect overlap); the table gives (d) as a fraction of each.
Prints a table and writes JSON, with the policy lag and stage timings of the full run.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import threading
import time

import numpy as np
from common import (
    benchmark_parser,
    concatenate_envs,
    parse_overrides,
    print_table,
    random_actions,
    timed_rate,
    write_json,
)

from hsuanwu_jax import DistributedTrainer, load_config, make_env
from hsuanwu_jax.acting.pipeline import ParamsSource, RolloutQueue
from hsuanwu_jax.acting.workers import WorkerGroup
from hsuanwu_jax.envs.interface import env_spec
from hsuanwu_jax.outputs.records import read_metrics
from hsuanwu_jax.runtime.process import limit_malloc_arenas


def time_env_alone(cfg, seconds: float) -> float:
    """Env steps/s of the config's training envs stepped with uniform random actions, one thread per env."""
    envs = make_env(cfg)
    spec = env_spec(envs[0])
    counts = [0] * len(envs)

    def step_randomly(index: int, env, until: float) -> None:
        rng = np.random.default_rng(index)
        env.reset()
        while time.perf_counter() < until:
            env.step(random_actions(spec, rng, env.config["num_envs"]))
            counts[index] += env.config["num_envs"]

    for warm_up in (True, False):
        until = time.perf_counter() + (1.0 if warm_up else seconds)
        counts[:] = [0] * len(envs)
        started = time.perf_counter()
        threads = [threading.Thread(target=step_randomly, args=(i, e, until)) for i, e in enumerate(envs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    rate = sum(counts) / (time.perf_counter() - started)
    for env in envs:
        env.close()
    return rate


def time_actors_alone(trainer: DistributedTrainer, seconds: float) -> float:
    """Env steps/s of the trainer's actor threads with fixed params, every rollout consumed at once."""
    settings = trainer.settings
    stop = threading.Event()
    workers = WorkerGroup(stop)
    rollouts = RolloutQueue(settings.queue_size, stop)
    source = ParamsSource(trainer.actor_params(), 0)
    for index, actor in enumerate(trainer.actors):
        workers.start(f"actor-{index}", lambda actor=actor: actor.run(source, rollouts, stop))
    steps_per_rollout = settings.num_steps * settings.num_envs

    def take_a_rollout() -> int:
        rollouts.get(check=workers.raise_if_failed).release()
        return steps_per_rollout

    try:  # warm-up: every actor past its first rollouts
        rate = timed_rate(take_a_rollout, seconds, warm_up=2 * len(trainer.actors))
    finally:
        stop.set()
        workers.join(10.0)
        rollouts.drain()
    workers.raise_if_failed()
    return rate


def time_learner_alone(trainer: DistributedTrainer, seconds: float) -> float:
    """Env steps/s of learner updates alone on one batch of real rollouts of the training shape."""
    settings = trainer.settings
    batch = concatenate_envs(
        [trainer.act(i % settings.num_actors) for i in range(settings.rollouts_per_batch)]
    )

    def one_update() -> int:
        trainer.update(batch)
        return settings.num_steps * settings.batch_size

    return timed_rate(one_update, seconds, warm_up=2)


def time_full_training(trainer: DistributedTrainer, seconds: float, expected_rate: float) -> dict:
    """Env steps/s of train() after a warm-up, with the policy lag and stage timings it logged."""
    settings = trainer.settings
    quiet = contextlib.redirect_stdout(io.StringIO())
    with quiet:
        trainer.train(num_steps=3 * settings.steps_per_update)  # warm-up: threads, queues, caches
    logged_before = len(read_metrics(os.path.join(trainer.workdir, "metrics.jsonl")))
    steps = max(
        5 * settings.steps_per_update, int(expected_rate * seconds)
    )  # at least 5 updates, so they overlap
    start_steps, started = trainer.env_steps, time.perf_counter()
    with quiet:
        trainer.train(num_steps=steps)
    elapsed = time.perf_counter() - started
    records = read_metrics(os.path.join(trainer.workdir, "metrics.jsonl"))[logged_before:]
    lag_counts = np.zeros(1 + max(r["policy_lag_max"] for r in records), np.int64)
    for record in records:
        lag_counts[: len(record["policy_lag_counts"])] += record["policy_lag_counts"]
    return {
        "sps": (trainer.env_steps - start_steps) / elapsed,
        "seconds": elapsed,
        "policy_lag_mean": float(np.mean([r["policy_lag_mean"] for r in records])),
        "policy_lag_max": max(r["policy_lag_max"] for r in records),
        "policy_lag_counts": lag_counts.tolist(),  # [k]: rollouts learned from k updates after they were acted
        "stage_seconds": {  # summed over the logged windows (compile_seconds is a running total: left out)
            key: sum(r.get(key, 0.0) for r in records)
            for key in records[-1]
            if key.endswith("_seconds") and key != "compile_seconds"
        },
    }


def main() -> None:
    parser = benchmark_parser(__doc__, "benchmarks/results/throughput.json")
    parser.add_argument("--seconds", type=float, default=10.0, help="timed seconds per stage")
    args = parser.parse_args()
    limit_malloc_arenas()  # as the command line does: the full-training rate is the one a user gets
    overrides = parse_overrides(args.set)
    cfg = load_config(args.config)
    cfg.update(dict(progress="none", test_every=0, checkpoint_every=0, num_train_steps=10**9), **overrides)
    with tempfile.TemporaryDirectory() as workdir:
        cfg.workdir = workdir
        started = time.perf_counter()
        trainer = DistributedTrainer(cfg)
        with contextlib.redirect_stdout(io.StringIO()):
            trainer.train(num_steps=trainer.settings.steps_per_update)
        first_update = time.perf_counter() - started
        env_rate = time_env_alone(cfg, args.seconds)
        actor_rate = time_actors_alone(trainer, args.seconds)
        learner_rate = time_learner_alone(trainer, args.seconds)
        serialized = 1.0 / (1.0 / actor_rate + 1.0 / learner_rate)
        overlapped = min(actor_rate, learner_rate)
        full = time_full_training(trainer, args.seconds, serialized)
        trainer.close()
    rows = [
        {"stage": "(a) env alone", "sps": env_rate},
        {"stage": "(b) actors alone", "sps": actor_rate},
        {"stage": "(c) learner alone", "sps": learner_rate},
        {"stage": "serialized bound", "sps": serialized},
        {"stage": "overlapped bound", "sps": overlapped},
        {"stage": "(d) full training", "sps": full["sps"]},
    ]
    for row in rows:
        row["of_serialized"] = row["sps"] / serialized
        row["of_overlapped"] = row["sps"] / overlapped
    columns = [("stage", "stage", "s"), ("env steps/s", "sps", ",.0f")]
    columns += [("/ serialized", "of_serialized", ".2f"), ("/ overlapped", "of_overlapped", ".2f")]
    print_table(rows, columns)
    print(
        f"\nactor_mode {trainer.actor_mode}, learner_chunks {trainer.learner_chunks}; "
        f"first update after {first_update:.1f} s (compilation included); full training: policy lag mean "
        f"{full['policy_lag_mean']:.2f}, max {full['policy_lag_max']}, counts {full['policy_lag_counts']}; stage seconds {full['stage_seconds']}"
    )
    write_json(
        args.out,
        {
            "config": args.config,
            "overrides": overrides,
            "command": " ".join(sys.argv),
            "seconds_per_stage": args.seconds,
            "actor_mode": trainer.actor_mode,
            "learner_chunks": trainer.learner_chunks,
            "first_update_seconds": first_update,
            "env_sps": env_rate,
            "actor_sps": actor_rate,
            "learner_sps": learner_rate,
            "serialized_bound_sps": serialized,
            "overlapped_bound_sps": overlapped,
            "full": full,
            "full_of_serialized": full["sps"] / serialized,
            "full_of_overlapped": full["sps"] / overlapped,
        },
    )


if __name__ == "__main__":
    main()
