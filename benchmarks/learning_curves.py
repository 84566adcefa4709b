"""Learning curves over seeds: when does the greedy test return first reach a threshold?

    python benchmarks/learning_curves.py --config configs/impala_cartpole.py --seeds 1 2 3 \
        --threshold 475 --out benchmarks/results/cartpole_seeds.json

Each seed trains the config to its num_train_steps in this process, with a greedy test()
(`num_test_episodes` episodes) every `test_every` env steps. Prints a table and writes JSON with,
per seed, the env steps and wall seconds (from the start of train(), compile and tests included)
at which the test return first reached the threshold, the final test return, and the curve.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.util
import io
import json
import os
import platform
import tempfile
import time

from hsuanwu_jax import DistributedTrainer, make_env


def load_config(path: str):
    spec = importlib.util.spec_from_file_location("config_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config()


def run_seed(config_path: str, seed: int, test_every: int, overrides: dict) -> dict:
    cfg = load_config(config_path)
    cfg.seed = seed
    cfg.test_every = test_every
    cfg.update(overrides)
    with tempfile.TemporaryDirectory() as workdir:
        cfg.workdir = workdir
        started = time.perf_counter()
        trainer = DistributedTrainer(cfg, train_env=make_env(cfg), test_env=make_env(cfg, test=True))
        with contextlib.redirect_stdout(io.StringIO()):
            trainer.train()
        final = trainer.test()
        total_seconds = time.perf_counter() - started
        trainer.close()
        with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
            records = [json.loads(line) for line in f]
    curve = [
        {"step": r["step"], "time": r["time"], "test_episode_reward": r["test_episode_reward"]}
        for r in records
        if "test_episode_reward" in r
    ]
    return {
        "seed": seed,
        "curve": curve,
        "final_test_episode_reward": final["episode_reward"],
        "total_seconds": total_seconds,
        "num_train_steps": cfg.num_train_steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--threshold", type=float, default=475.0)
    parser.add_argument("--test-every", type=int, default=50_000)
    parser.add_argument("--set", nargs="*", default=[], help="config overrides as field=python_literal")
    parser.add_argument("--out", default="benchmarks/results/learning_curves.json")
    args = parser.parse_args()
    overrides = {k: ast.literal_eval(v) for k, v in (item.split("=", 1) for item in args.set)}
    rows = []
    for seed in args.seeds:
        result = run_seed(args.config, seed, args.test_every, overrides)
        reached = next((p for p in result["curve"] if p["test_episode_reward"] >= args.threshold), None)
        result["threshold"] = args.threshold
        result["steps_to_threshold"] = reached and reached["step"]
        result["seconds_to_threshold"] = reached and reached["time"]
        rows.append(result)
        print(json.dumps({k: v for k, v in result.items() if k != "curve"}), flush=True)
    print(
        f"\n{'seed':>4} | {'steps to ' + str(args.threshold):>16} | {'seconds':>8} | {'final test':>10} | {'total s':>8}"
    )
    for r in rows:
        steps = f"{r['steps_to_threshold']:,}" if r["steps_to_threshold"] else "not reached"
        seconds = f"{r['seconds_to_threshold']:.1f}" if r["seconds_to_threshold"] else "-"
        print(
            f"{r['seed']:>4} | {steps:>16} | {seconds:>8} | {r['final_test_episode_reward']:>10.1f} | {r['total_seconds']:>8.1f}"
        )
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(
            {
                "config": args.config,
                "overrides": overrides,
                "machine": platform.platform(),
                "cpus": os.cpu_count(),
                "runs": rows,
            },
            f,
            indent=2,
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
