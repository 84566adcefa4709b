"""Learner throughput against the number of learner devices and of processes.

    python benchmarks/scaling.py --config configs/impala_cartpole.py --out benchmarks/results/scaling.json

For each of 1, 2, 4, 8 forced host devices (XLA_FLAGS=--xla_force_host_platform_device_count=N, a
fresh process each) and for 1 vs 2 processes joined by jax.distributed (gloo on 127.0.0.1, one device
each), times learner updates alone on a batch of real rollouts of the config's shape, after warm-up.
Prints a table of samples/s (samples = (T+1) x global batch envs per update) and writes JSON. On a
CPU, forced devices and local processes share the same cores: the figures show overheads, not
speed-ups.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time

from common import concatenate_envs, print_table, script_parser, write_json


def measure(config_path: str, updates: int, port: int | None, process_id: int | None) -> dict:
    """Runs inside a worker process: build the trainer, collect one batch, time `updates` updates."""
    import tempfile

    import jax

    from hsuanwu_jax import DistributedTrainer, load_config, make_env

    cfg = load_config(config_path)
    if port is not None:
        cfg.update(
            dict(
                multi_host=True,
                coordinator_address=f"127.0.0.1:{port}",
                num_processes=2,
                process_id=process_id,
                distributed_timeout_seconds=120,
            )
        )
    with tempfile.TemporaryDirectory() as workdir:
        cfg.workdir = workdir
        trainer = DistributedTrainer(cfg, train_env=make_env(cfg), test_env=None)
        settings = trainer.settings
        rollouts = [trainer.act(i % settings.num_actors) for i in range(settings.rollouts_per_batch)]
        batch = concatenate_envs(rollouts)
        for _ in range(3):  # compile and warm up
            trainer.update(batch)
        started = time.perf_counter()
        for _ in range(updates):
            trainer.update(batch)
        seconds = time.perf_counter() - started
        samples = (settings.num_steps + 1) * settings.batch_size * jax.process_count() * updates
        result = {
            "devices": jax.device_count(),
            "processes": jax.process_count(),
            "samples_per_second": samples / seconds,
            "updates_per_second": updates / seconds,
            "global_batch_envs": settings.batch_size * jax.process_count(),
            "unroll": settings.num_steps,
        }
        trainer.close()
    return result


def spawn(args, extra_env, worker_args):
    env = dict(os.environ, **extra_env)
    return subprocess.Popen(
        [sys.executable, __file__, "--config", args.config, "--updates", str(args.updates), *worker_args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def result_of(process) -> dict:
    out, err = process.communicate(timeout=900)
    if process.returncode != 0:
        raise RuntimeError(err[-3000:])
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--config", default="configs/impala_cartpole.py")
    parser.add_argument("--updates", type=int, default=50)
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--out", default="benchmarks/results/scaling.json")
    parser.add_argument("--worker", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        port, process_id = (int(args.worker[0]), int(args.worker[1])) if args.worker else (None, None)
        print(json.dumps(measure(args.config, args.updates, port, process_id)), flush=True)
        return

    rows = []
    for devices in args.devices:
        flags = {"XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
        rows.append(
            {"setting": f"1 process, {devices} device(s)", **result_of(spawn(args, flags, ["--worker"]))}
        )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pair = [spawn(args, {"XLA_FLAGS": ""}, ["--worker", str(port), str(pid)]) for pid in (0, 1)]
    results = [result_of(p) for p in pair]  # wait for both; they report the same global figures
    rows.append({"setting": "2 processes, 1 device each", **results[0]})

    for row in rows:
        row["vs_one_device"] = row["samples_per_second"] / rows[0]["samples_per_second"]
    print_table(
        rows,
        [
            ("setting", "setting", ">28"),
            ("global batch", "global_batch_envs", "d"),
            ("samples/s", "samples_per_second", ",.0f"),
            ("updates/s", "updates_per_second", ".1f"),
            ("vs 1 device", "vs_one_device", ".2f"),
        ],
    )
    write_json(args.out, {"config": args.config, "updates_timed": args.updates, "rows": rows})


if __name__ == "__main__":
    main()
