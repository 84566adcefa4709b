"""What the benchmark scripts share: a table on stdout and a JSON file with the machine named."""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import json
import os
import platform
import tempfile
import time

import numpy as np

from hsuanwu_jax import DistributedTrainer
from hsuanwu_jax.core.types import Trajectory, map_envs
from hsuanwu_jax.outputs.records import read_metrics


def benchmark_parser(doc: str, default_out: str) -> argparse.ArgumentParser:
    """An argument parser with the options the training benchmarks share: --config, --set, --out."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="a config file or preset name")
    parser.add_argument("--set", nargs="*", default=[], help="config overrides as field=python_literal")
    parser.add_argument("--out", default=default_out, help="the JSON file to write")
    return parser


def parse_overrides(items: list[str]) -> dict:
    """Config overrides from `field=python_literal` strings, e.g. ["lr=1e-3", "mlp_hidden_sizes=(32,)"]."""
    return {k: ast.literal_eval(v) for k, v in (item.split("=", 1) for item in items)}


def random_actions(spec, rng: np.random.Generator, num_envs: int) -> np.ndarray:
    """Uniform random actions `[num_envs, ...]` for an `EnvSpec`: over the actions, or over a Box's bounds."""
    if spec.is_discrete:
        return rng.integers(0, spec.action_size, num_envs).astype(spec.action_dtype)
    return rng.uniform(spec.action_low, spec.action_high, (num_envs, spec.action_size)).astype(
        spec.action_dtype
    )


def concatenate_envs(trajectories: list[Trajectory]) -> Trajectory:
    """Rollouts side by side along their env axis: `[T+1, B_1 + B_2 + ..., ...]` (a learner batch)."""
    return map_envs(lambda axis, *arrays: np.concatenate(arrays, axis), *trajectories)


def print_table(rows: list[dict], columns: list[tuple[str, str, str]]) -> None:
    """Prints `rows` under `columns` of (heading, key, format spec), e.g. ("samples/s", "sps", ",.0f")."""
    cells = [
        [("-" if row.get(key) is None else format(row[key], spec)).strip() for _, key, spec in columns]
        for row in rows
    ]
    widths = [max([len(heading)] + [len(r[i]) for r in cells]) for i, (heading, _, _) in enumerate(columns)]
    print("\n" + " | ".join(f"{h:>{w}}" for (h, _, _), w in zip(columns, widths, strict=True)))
    for row in cells:
        print(" | ".join(f"{c:>{w}}" for c, w in zip(row, widths, strict=True)))


def write_json(path: str, payload: dict) -> None:
    """Writes `payload` with the machine's platform and CPU count added."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"machine": platform.platform(), "cpus": os.cpu_count(), **payload}, f, indent=2)
    print(f"wrote {path}")


def train_quietly_and_test(cfg, make_envs) -> dict:
    """Trains `cfg` in a temporary workdir with the envs `make_envs(cfg) -> (train_env, test_env)`,
    without progress output, then tests greedily. Returns the final test result, the wall seconds
    from construction to the end of the test, and the `test_*` points of the learning curve."""
    with tempfile.TemporaryDirectory() as workdir:
        cfg.workdir = workdir
        cfg.progress = "none"
        started = time.perf_counter()
        train_env, test_env = make_envs(cfg)
        trainer = DistributedTrainer(cfg, train_env=train_env, test_env=test_env)
        with contextlib.redirect_stdout(io.StringIO()):
            trainer.train()
        final = trainer.test()
        seconds = time.perf_counter() - started
        trainer.close()
        records = read_metrics(os.path.join(workdir, "metrics.jsonl"))
    curve = [
        {"step": r["step"], "time": r["time"], "test_episode_reward": r["test_episode_reward"]}
        for r in records
        if "test_episode_reward" in r
    ]
    return {"final": final, "seconds": seconds, "curve": curve}
