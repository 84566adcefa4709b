"""The learner over several devices (forced CPU devices) and several processes (gloo on 127.0.0.1).

Device counts and jax.distributed must be fixed before JAX starts, so each case runs
tests/scale_out_worker.py in fresh processes and reads the JSON lines it prints.
"""

import json
import logging
import os
import pathlib
import re
import shlex
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import hsuanwu_jax.run.assembly as assembly_module
from hsuanwu_jax import DistributedTrainer, validate

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKER = str(ROOT / "tests" / "scale_out_worker.py")


def worker_env(devices=None):
    """The test's environment for a worker; `devices` forced host devices are added to (never replace)
    XLA_FLAGS, so a run with e.g. `--xla_cpu_max_isa=AVX2` keeps that limit in its workers."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if devices:
        flags = env.get("XLA_FLAGS", "")
        env["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={devices}".strip()
    return env


def run_worker(*args, devices=None, timeout=300):
    result = subprocess.run(
        [sys.executable, WORKER, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=worker_env(devices),
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_two_processes(mode, port, args_of):
    """Processes 0 and 1 of a two-process worker run in `mode`; `args_of(pid)` gives each one's extra args."""
    return [
        subprocess.Popen(
            [sys.executable, WORKER, mode, str(port), str(pid), *map(str, args_of(pid))],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=worker_env(),
            cwd=ROOT,
        )
        for pid in (0, 1)
    ]


def test_four_devices_update_like_one():
    (result,) = run_worker("same_update", devices=4)
    assert result["devices"] == 4
    for precision in ("float64", "float32"):
        figures = result[precision]
        for way in ("all", "all_chunked"):
            print(
                f"{precision}, {way}: max |4-device params - 1-device params| after 3 updates = "
                f"{figures[f'relative_difference_{way}']:.2e} x the largest param change ({figures['max_update']:.3f})"
            )
    # Why these bounds: the devices compute the same sums in another order (per-device partial sums of the
    # per-env gradient terms, then a psum), so their results differ by rounding only: a few units of
    # machine epsilon (float64 2.2e-16, float32 1.2e-7) of the gradient, carried into the params through
    # RMSProp, whose step changes by at most lr / eps (= 1 here) per unit change of the gradient. Measured
    # against the size of the updates (not of params that may sit near zero), float64 gives about 1e-15 on
    # every instruction set tried (AVX-512, AVX2, SSE4.2): 1e-10 leaves 5 orders of magnitude for
    # reordering while a real error (a device's envs dropped or counted twice: a difference of the order
    # of the update itself, ~1) or float32 arithmetic slipping into the float64 run (~1e-7) fails it.
    # The same holds with each device's share in 3 pieces (one compiled piece called 3 times).
    for way in ("all", "all_chunked"):
        assert result["float64"][f"relative_difference_{way}"] <= 1e-10
        # float32 measured 5e-7 to 6e-7; 1e-4 is 3 orders of magnitude below a wrong update's ~1.
        assert result["float32"][f"relative_difference_{way}"] <= 1e-4


def test_observation_statistics_are_identical_on_one_and_four_devices():
    (result,) = run_worker("same_obs_stats", devices=4)
    assert result["devices"] == 4 and result["one"]["count"] == result["all"]["count"] > 0
    for way in ("all", "all_chunked"):
        for name in ("mean", "variance"):
            one, other = np.array(result["one"][name]), np.array(result[way][name])
            np.testing.assert_allclose(other, one, rtol=1e-5, err_msg=f"{way} {name}")


def test_per_task_popart_statistics_are_identical_on_one_and_four_devices():
    (result,) = run_worker("same_task_stats", devices=4)
    assert result["devices"] == 4
    for name in ("mean", "variance", "reward_min", "reward_max", "kernel"):
        one, every = np.array(result["one"][name]), np.array(result["all"][name])
        # float32 sums in another order (per device, then psum): a few 1e-7 relative.
        np.testing.assert_allclose(every, one, rtol=1e-5, err_msg=name)
    assert result["one"]["mean"][1] == -2.0  # task 1 had no env in the batch: its statistics kept


def test_a_batch_that_cannot_be_split_over_the_devices_is_refused(tmp_path):
    (result,) = run_worker("indivisible", tmp_path, devices=4)
    assert "batch_size=6 must split evenly over this process's 4 learner devices" in result["error"]
    assert "e.g. [4, 8, 12]" in result["error"]


@pytest.mark.slow
def test_cartpole_on_four_devices_learns_like_on_one(tmp_path):
    (result,) = run_worker("cartpole", tmp_path, devices=4)
    print(f"4-device CartPole greedy test return after 200k steps: {result['test_return']:.1f}")
    assert result["learner_devices"] == 4
    assert result["test_return"] >= 100.0  # the bar of the 1-device learning test


def test_two_processes_train_together_with_identical_params(tmp_path):
    port, updates = free_port(), 4
    processes = start_two_processes("multihost", port, lambda pid: (tmp_path, updates))
    outputs = [p.communicate(timeout=300) for p in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr[-4000:]
    lines = [[json.loads(x) for x in out.splitlines() if x.startswith("{")] for out, _ in outputs]
    names = [process_lines.pop(0)["name"] for process_lines in lines]
    assert names[0] == names[1] and "-" in names[0] and names[0].count("-") == 1  # process 0's, no suffix
    agreed = [process_lines.pop() for process_lines in lines]
    resumed = [process_lines.pop() for process_lines in lines]
    assert len(lines[0]) == len(lines[1]) == updates
    steps_per_update = 5 * 8 * 2  # num_steps * batch_size per process * 2 processes
    for update, (a, b) in enumerate(zip(*lines, strict=True), start=1):
        assert a["params_sha1"] == b["params_sha1"], f"params differ after update {update}"
        assert a["env_steps"] == b["env_steps"] == update * steps_per_update
    assert len({x["params_sha1"] for x in lines[0]}) == updates  # and they do change every update
    # Both processes resume from the multi-host checkpoint written after the last update.
    for process_lines, resumed_line in zip(lines, resumed, strict=True):
        assert resumed_line["event"] == "resumed"
        assert resumed_line["env_steps"] == process_lines[-1]["env_steps"]
        assert resumed_line["params_sha1"] == process_lines[-1]["params_sha1"]
    # When process 1 cannot read the newest checkpoint, both agree on the one before it.
    for process_lines, agreed_line in zip(lines, agreed, strict=True):
        assert agreed_line["event"] == "agreed"
        assert agreed_line["env_steps"] == process_lines[-2]["env_steps"]
        assert agreed_line["params_sha1"] == process_lines[-2]["params_sha1"]


def test_a_multi_task_run_over_two_processes_keeps_one_set_of_per_task_statistics(tmp_path):
    port = free_port()
    processes = start_two_processes("multitask_multihost", port, lambda pid: (tmp_path,))
    outputs = [p.communicate(timeout=300) for p in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr[-4000:]
    first, second = ([json.loads(x) for x in out.splitlines() if x.startswith("{")][-1] for out, _ in outputs)
    assert first["actor_tasks"] == [0] and second["actor_tasks"] == [1]  # each process's thread its own task
    assert first["stats"] == second["stats"] and first["params_sha1"] == second["params_sha1"]
    # each task's statistics moved, though only one process's envs play it
    assert all(mean != 0.0 for mean in first["stats"]["mean"]) and first["stats"]["reward_max"] == [1.0, 1.0]


def test_an_actor_failure_in_one_process_ends_both_with_that_error(tmp_path):
    port = free_port()
    processes = start_two_processes("multihost_failure", port, lambda pid: (tmp_path / str(pid),))
    ended = {}
    deadline = time.monotonic() + 180  # start-up and compilation, then the failure
    while len(ended) < 2 and time.monotonic() < deadline:
        ended.update(
            {
                pid: time.monotonic()
                for pid, p in enumerate(processes)
                if pid not in ended and p.poll() is not None
            }
        )
        time.sleep(0.1)
    for process in processes:
        process.kill()  # no-op for a process that ended
    outputs = [process.communicate() for process in processes]
    assert len(ended) == 2, f"still running: {[pid for pid in (0, 1) if pid not in ended]}"
    print(f"process 0 ended {ended[0] - ended[1]:+.1f} s after the failing process 1")
    assert abs(ended[0] - ended[1]) < 30
    started_training = [
        json.loads(x)["event"] for out, _ in outputs for x in out.splitlines() if x.startswith("{")
    ]
    assert started_training == ["training", "training"]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode != 0
        assert "fake env failure" in stderr, stderr[-3000:]
    assert "RuntimeError: fake env failure" in outputs[1][1]  # the failing process: its own traceback
    assert (
        "another process of this multi-host run failed: process 1: RuntimeError: fake env failure"
        in outputs[0][1]
    )


ABSL_INFO_LINE = re.compile(r"^I\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\] ", re.MULTILINE)


def readme_two_process_commands(workdir, port, *overrides):
    """The devices guide's "Two processes by hand" commands as argvs, with this interpreter, `workdir`, `port`
    and `overrides` (more `--config.<field>=<value>` flags) in place of its own."""
    guide = (ROOT / "docs" / "guides" / "devices.md").read_text()
    block = guide[guide.index("# Two processes by hand") :].split("```")[0].split("\n", 1)[1]
    commands = block.replace("\\\n", " ").replace("runs/mh", str(workdir)).replace("12345", str(port))
    argvs = [shlex.split(line.rstrip(" &")) for line in commands.splitlines() if line.strip()]
    assert len(argvs) == 2 and all(argv[0] == "python" for argv in argvs), argvs
    return [[sys.executable, *argv[1:], *overrides] for argv in argvs]


def test_the_readmes_two_process_command_prints_no_library_info_lines(tmp_path):
    argvs = readme_two_process_commands(tmp_path / "mh", free_port(), "--config.num_train_steps=20000")
    processes = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        for argv in argvs
    ]
    consoles = [process.communicate(timeout=300)[0] for process in processes]
    for pid, (process, console) in enumerate(zip(processes, consoles, strict=True)):
        assert process.returncode == 0, console[-4000:]
        assert "joining the multi-host run: coordinator 127.0.0.1:" in console
        info_lines = ABSL_INFO_LINE.findall(console)
        print(f"process {pid}: {len(console.splitlines())} console lines, {len(info_lines)} absl INFO lines")
        assert not info_lines, console[:3000]
    assert "final test return" in consoles[0]


class Joining(Exception):
    """Stands for joining a multi-host run, in a test that only looks at what came before."""


def test_library_logs_are_quieted_before_a_run_is_joined(tmp_path, monkeypatch):
    levels = {}

    def record_levels(**kwargs):
        logger = logging.getLogger("jax._src.distributed")
        levels.update(info=logger.isEnabledFor(logging.INFO), warning=logger.isEnabledFor(logging.WARNING))
        raise Joining

    monkeypatch.setattr(assembly_module, "initialize_distributed", record_levels)
    jax_logger = logging.getLogger("jax")
    previous = jax_logger.level
    jax_logger.setLevel(logging.INFO)  # what absl's command line leaves
    cfg = {"multi_host": True, "coordinator_address": "127.0.0.1:1", "num_processes": 2, "process_id": 0}
    try:
        with pytest.raises(Joining):
            DistributedTrainer({**cfg, "workdir": str(tmp_path)})
    finally:
        jax_logger.setLevel(previous)
    assert levels == {"info": False, "warning": True}


def build_alone(tmp_path, process_id):
    """Builds a trainer as process `process_id` of a 2-process run (timeout 3 s) with no other process
    anywhere, in a fresh interpreter; returns the finished process and how long it took."""
    code = (
        "import sys; sys.path.insert(0, 'tests')\n"
        "from fakes import CountingEnv\nfrom hsuanwu_jax import DistributedTrainer\n"
        "from helpers import tiny_config\n"
        f"cfg = tiny_config({str(tmp_path)!r}, multi_host=True, coordinator_address='127.0.0.1:{free_port()}',"
        f" num_processes=2, process_id={process_id}, distributed_timeout_seconds=3)\n"
        "DistributedTrainer(cfg, train_env=[CountingEnv([3, 4, 5, 6])] * 2, test_env=CountingEnv([3]))\n"
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    return result, time.monotonic() - started


def test_an_unreachable_coordinator_is_a_clear_error_within_the_timeout(tmp_path):
    result, seconds = build_alone(tmp_path, process_id=1)
    assert seconds < 60 and result.returncode != 0
    assert "TimeoutError: the coordinator at coordinator_address='127.0.0.1:" in result.stderr
    assert "did not answer within distributed_timeout_seconds=3" in result.stderr


def test_a_coordinator_whose_peers_never_come_ends_with_a_clear_message(tmp_path):
    result, seconds = build_alone(tmp_path, process_id=0)
    assert seconds < 60 and result.returncode == 1  # not JAX's SIGABRT (-6)
    message = "did not form within distributed_timeout_seconds=3: process 0 waited for 2 processes"
    assert message in result.stderr


def test_a_process_id_out_of_range_is_refused():
    with pytest.raises(
        ValueError, match="process_id=2 is out of range: expected 0 <= process_id < num_processes=2"
    ):
        validate({"multi_host": True, "num_processes": 2, "process_id": 2})
