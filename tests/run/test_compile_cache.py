"""The persistent compilation cache (a second process reuses the programs the first compiled) and the
start-up benchmark that measures it."""

import json
import subprocess
import sys

from helpers import ROOT, cli


def compile_totals(workdir):
    with open(workdir / "metrics.jsonl") as f:
        first = json.loads(f.readline())
    return first["compile_cache_hits"], first["compile_cache_misses"]


def test_a_second_run_loads_its_programs_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    runs = {}
    for name in ("first", "second"):
        runs[name] = subprocess.run(
            cli(
                tmp_path / name,
                "--config.num_train_steps=2000",
                f"--config.compile_cache_dir={cache}",
                "--config.verbosity=debug",  # JAX's cache hits and misses, by program
            ),
            capture_output=True,
            text=True,
        )
        assert runs[name].returncode == 0, runs[name].stderr[-2000:]
    first_hits, first_misses = compile_totals(tmp_path / "first")
    second_hits, _ = compile_totals(tmp_path / "second")
    assert first_hits == 0 and first_misses > 0  # an empty cache: everything compiled
    assert second_hits >= 2  # by the first metrics line: at least the learner step and the params' init
    second_log = runs["second"].stdout + runs["second"].stderr
    # The learner and the params' init (each compiles in well over the cache's 0.1 s threshold; the policy
    # step, at about 0.13 s here, may not on a faster machine; the actors' rollouts never hit).
    for program in ("jit_step", "jit_init"):
        assert f"Persistent compilation cache hit for '{program}'" in second_log
    assert any(cache.iterdir())


def test_no_cache_directory_means_no_cache(tmp_path):
    run = subprocess.run(
        cli(tmp_path / "run", "--config.num_train_steps=2000", "--config.compile_cache_dir="),
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert compile_totals(tmp_path / "run") == (0, 0)
    assert not (tmp_path / ".cache").exists()


def test_the_startup_benchmark_runs(tmp_path):
    out = tmp_path / "startup.json"
    command = [sys.executable, "benchmarks/startup.py", "--workloads", "cartpole", "--out", str(out)]
    run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    (row,) = json.loads(out.read_text())["rows"]
    assert row["workload"] == "cartpole" and row["peak_rss_mib"] > 0
    assert all(row[key] > 0 for key in ("cold_seconds", "warm_seconds", "resume_seconds"))
