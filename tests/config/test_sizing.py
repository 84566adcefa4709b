"""The "auto" actor layout (config/sizing.py): sized to the host's cores and devices, to the tasks and to a train
env handed over; numbers kept; the fields take numbers from code and the command line."""

import re
import subprocess
import sys

import pytest
from helpers import ROOT, tiny_config

from hsuanwu_jax.config import default_config, load_config
from hsuanwu_jax.config.settings import validate
from hsuanwu_jax.core.spec import EnvFacts
from hsuanwu_jax.runtime.host import HostFacts

LAPTOP = HostFacts(cores=2, accelerator=False)


def auto_config(tmp_path, **overrides):
    return tiny_config(tmp_path, num_actors="auto", env_threads="auto", **overrides)


@pytest.mark.parametrize(
    "host, num_envs, layout",
    [
        (LAPTOP, 4, (2, 1)),  # this project's machine: the grid's fastest
        (HostFacts(8, False), 4, (2, 2)),  # a CPU learner keeps half the cores
        (HostFacts(2, True), 4, (2, 1)),  # a Colab GPU: two vCPUs
        (HostFacts(16, True), 4, (4, 4)),  # 15 env threads, at most 4 per actor thread
        (HostFacts(16, True), 2, (4, 2)),  # never more threads than an actor has envs
        (HostFacts(96, True), 8, (24, 4)),  # a TPU VM
    ],
)
def test_auto_sizes_the_actors_to_the_host(tmp_path, host, num_envs, layout):
    s = validate(auto_config(tmp_path, num_envs=num_envs, batch_size=num_envs), host=host)
    assert (s.num_actors, s.env_threads) == layout
    assert s.actor_layout.startswith(f"{layout[0]} actor threads x {layout[1]} EnvPool thread")
    assert f"{host.cores} cores" in s.actor_layout  # says why
    assert s.config["num_actors"] == layout[0]  # what a checkpoint or export stores: what ran


def test_numbers_are_kept_and_said_plainly(tmp_path):
    s = validate(tiny_config(tmp_path, num_actors=3, env_threads=2), host=HostFacts(96, True))
    assert (s.num_actors, s.env_threads) == (3, 2)
    assert s.actor_layout == "3 actor threads x 2 EnvPool threads, 4 envs each"
    s = validate(tiny_config(tmp_path, num_actors=3, env_threads="auto"), host=HostFacts(16, True))
    assert (s.num_actors, s.env_threads) == (3, 4)  # round(15 / 3) = 5 threads, but an actor has 4 envs


def test_a_multi_task_run_gets_a_multiple_of_its_tasks(tmp_path):
    tasks = ("CartPole-v1", "Acrobot-v1", "MountainCar-v0")
    for host, actors in ((LAPTOP, 3), (HostFacts(16, True), 6)):
        s = validate(auto_config(tmp_path, tasks=tasks, env_id=tasks[0], batch_size=12), host=host)
        assert s.num_actors == actors and "a multiple of the 3 tasks" in s.actor_layout


def test_a_train_env_handed_over_fixes_the_count(tmp_path):
    cfg = auto_config(tmp_path)  # 4 envs per actor thread
    listed = EnvFacts(total_envs=12, actor_envs=3)
    assert validate(cfg, env=listed, host=HostFacts(96, True)).num_actors == 3
    one_env = EnvFacts(total_envs=20)
    s = validate(cfg, env=one_env, host=LAPTOP)
    assert s.num_actors == 5 and "train_env's 20 envs, 4 per actor thread" in s.actor_layout


def test_a_hsuanwu_script_shares_its_envs_over_the_actors_auto_chose(tmp_path):
    pong = EnvFacts(total_envs=16, env_id="Pong-v5", env_kwargs={}, obs_rank=3)
    s = validate({"agent": {"name": "IMPALA"}}, env=pong, host=HostFacts(16, True))
    assert (s.num_actors, s.num_envs) == (4, 4)
    six = EnvFacts(total_envs=6, env_id="Pong-v5", env_kwargs={}, obs_rank=3)
    s = validate({"agent": {"name": "IMPALA"}}, env=six, host=HostFacts(16, True))
    assert (s.num_actors, s.num_envs) == (3, 2)  # the most actor threads up to 4 that share 6 envs evenly
    assert any("3 actor threads share the envs" in note for note in s.config_notes)


def test_the_fields_take_auto_or_a_number_and_refuse_anything_else(tmp_path):
    cfg = default_config()
    cfg.num_actors, cfg.env_threads, cfg.learner_chunks = 4, 2, 8  # a plain "auto" default would refuse ints
    s = validate(cfg, host=LAPTOP)
    assert (s.num_actors, s.env_threads, s.learner_chunks) == (4, 2, 8)
    for field, value in (("num_actors", "many"), ("env_threads", 0), ("learner_chunks", "some")):
        with pytest.raises(ValueError, match=f'config field {field}=.* "auto"'):
            validate(tiny_config(tmp_path, **{field: value}), host=LAPTOP)


def test_the_command_line_sets_a_number_or_auto():
    code = (
        "from absl import app, flags; from ml_collections import config_flags;"
        "C = config_flags.DEFINE_config_file('config');"
        "app.run(lambda _: print(repr(C.value.num_actors), repr(C.value.env_threads)))"
    )
    argv = [
        "--config",
        str(ROOT / "configs/impala_atari.py"),
        "--config.num_actors=4",
        "--config.env_threads=auto",
    ]
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "4 'auto'"


def test_every_preset_sizes_its_actors_automatically():
    for preset in ("impala_atari", "impala_mujoco", "impala_procgen", "impala_minigrid", "impala_cartpole"):
        cfg = load_config(f"configs/{preset}.py")
        assert (cfg.num_actors, cfg.env_threads, cfg.learner_chunks) == ("auto", "auto", "auto"), preset


def test_a_run_says_its_layout_and_why_as_it_starts(tmp_path, capsys):
    from helpers import fake_envs, trainer_for

    cfg = auto_config(tmp_path)
    trainer = trainer_for(cfg, envs=fake_envs(tiny_config(tmp_path)))  # a list of 2 envs
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"run directory: {tmp_path}"
    assert re.match(r"actors: 2 actor threads x \d+ EnvPool threads?, 4 envs each \(auto: ", lines[1])
    assert "one actor thread per env of train_env" in lines[1] and re.search(
        r"Learner: \d+ cpu device", lines[1]
    )
    assert trainer.settings.num_actors == 2
