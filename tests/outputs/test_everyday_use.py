"""Everyday use: progress display, metric sinks (jsonl, TensorBoard, W&B, CSV), videos, the README's
config table."""

import csv
import importlib.util
import json
import pathlib
import struct
import subprocess
import sys
import types

import pytest
from fakes import CountingEnv
from helpers import cli, fake_envs, tiny_config
from PIL import Image

from hsuanwu_jax import DistributedTrainer, default_config, load_config, make_env, validate
from hsuanwu_jax.cli import config_table, record, to_csv
from hsuanwu_jax.outputs.progress import Progress
from hsuanwu_jax.outputs.records import read_metrics
from hsuanwu_jax.outputs.sinks import MetricSinks
from hsuanwu_jax.outputs.video import check_video_path

ROOT = pathlib.Path(__file__).resolve().parents[2]
RECORD = {"step": 2_048, "sps": 9_000.0, "episode_reward": 21.5, "loss": 1.25, "entropy": 0.6}
RECORD.update(policy_lag_mean=1.5, test_episode_reward=None)


@pytest.mark.parametrize("mode", ["bar", "lines", "none"])
def test_progress_modes(capsys, mode):
    progress = Progress(mode, total=10_000)
    progress.advance(2_048)
    progress.log(RECORD)
    progress.close()
    out, err = capsys.readouterr()
    line = "step       2,048 | sps     9,000 | episode_reward    21.50"
    assert (line in out) == (mode != "none")
    assert ("2.05k/10.0k" in err and "episode_reward=21.50" in err) == (mode == "bar")  # the bar: stderr
    if mode == "none":
        assert out == err == ""


def test_auto_progress_is_a_bar_on_a_terminal_or_in_a_notebook_and_lines_elsewhere(monkeypatch, capsys):
    from hsuanwu_jax.outputs.progress import shows_a_bar

    assert not shows_a_bar()  # pytest's captured stderr, no kernel
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert shows_a_bar()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    kernel_shell = type("Shell", (), {"kernel": object()})()
    monkeypatch.setitem(sys.modules, "IPython", type("IPython", (), {"get_ipython": lambda: kernel_shell}))
    assert shows_a_bar()
    monkeypatch.setitem(sys.modules, "IPython", type("IPython", (), {"get_ipython": lambda: None}))
    assert not shows_a_bar()  # IPython in a terminal shell, or imported with no shell
    progress = Progress("auto", total=10_000)
    progress.log(RECORD)
    progress.close()
    out, err = capsys.readouterr()
    assert "episode_reward    21.50" in out and err == ""


def test_a_default_run_logged_to_a_file_has_no_bar_redraws(tmp_path):
    log = tmp_path / "log"
    with open(log, "wb") as f:
        run = subprocess.run(
            cli(tmp_path / "run", "--config.num_train_steps=20000", "--config.log_every=5000"),
            stdout=f,
            stderr=subprocess.STDOUT,
        )
    text = log.read_bytes()
    assert run.returncode == 0, text[-2000:]
    assert text.count(b"\r") == 0 and text.count(b"step ") >= 4, text[-2000:]


def read_tensorboard_scalars(logdir: pathlib.Path) -> dict[str, dict[int, float]]:
    """Every scalar in the TensorBoard event files under `logdir`: {tag: {step: value}}."""
    from tensorboardX.proto.event_pb2 import Event

    scalars: dict[str, dict[int, float]] = {}
    for path in logdir.glob("events.out.tfevents.*"):
        data = path.read_bytes()
        offset = 0
        while offset < len(data):  # TFRecord framing: u64 length, u32 crc, payload, u32 crc
            (length,) = struct.unpack("<Q", data[offset : offset + 8])
            event = Event.FromString(data[offset + 12 : offset + 12 + length])
            offset += 12 + length + 4
            for value in event.summary.value:
                scalars.setdefault(value.tag, {})[event.step] = value.simple_value
    return scalars


def test_a_run_writes_config_json_metrics_tensorboard_and_csv(tmp_path):
    cfg = tiny_config(tmp_path, tensorboard=True, progress="none")
    trainer = DistributedTrainer(cfg, train_env=fake_envs(cfg), test_env=CountingEnv([4, 6, 8]))
    trainer.train()
    trainer.close()
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved == json.loads(json.dumps(validate(cfg).config, default=list))
    records = read_metrics(str(tmp_path / "metrics.jsonl"))
    assert len(records) >= 4
    scalars = read_tensorboard_scalars(tmp_path / "tensorboard")
    for field in ("sps", "loss", "entropy", "episode_reward", "policy_lag_mean"):
        logged = {r["step"]: r[field] for r in records if r[field] is not None}
        assert set(scalars[field]) == set(logged), field
        for step, value in logged.items():
            # TensorBoard stores scalars as float32: rounding a float64 value costs at most 6e-8 relative.
            assert scalars[field][step] == pytest.approx(value, rel=1e-6), (field, step)

    assert to_csv.main([str(tmp_path), "--out", str(tmp_path / "run.csv")]) == 0
    with open(tmp_path / "run.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["step"]) for row in rows] == [r["step"] for r in records]
    assert [float(row["loss"]) for row in rows] == [r["loss"] for r in records]
    assert "test_episode_reward" not in rows[0]  # test_every=0: no test fields anywhere


def test_to_csv_without_metrics_is_a_clear_message(tmp_path, capsys):
    assert to_csv.main([str(tmp_path)]) == 2
    assert "metrics.jsonl has no complete metrics record" in capsys.readouterr().err


class FakeWandb(types.ModuleType):
    """Stands in for the wandb package: records init arguments and logged rows."""

    def __init__(self):
        super().__init__("wandb")
        self.inits, self.logged, self.finished = [], [], 0

    def init(self, **kwargs):
        self.inits.append(kwargs)
        return types.SimpleNamespace(
            log=lambda row, step: self.logged.append((step, row)), finish=self._finish
        )

    def _finish(self):
        self.finished += 1


def test_wandb_gets_every_record_and_a_resumed_run_continues_the_same_run(tmp_path, monkeypatch):
    wandb = FakeWandb()
    monkeypatch.setitem(sys.modules, "wandb", wandb)
    config = validate(default_config()).config
    for step in (100, 200):
        sinks = MetricSinks(
            str(tmp_path), tensorboard=False, wandb_project="impala", wandb_entity="", config=config
        )
        sinks.write({**RECORD, "step": step})
        sinks.close()
    first, resumed = wandb.inits
    assert first["project"] == "impala" and first["entity"] is None and first["resume"] == "allow"
    assert first["config"]["lr"] == config["lr"] and first["dir"] == str(tmp_path)
    assert resumed["id"] == first["id"] == (tmp_path / "wandb_run_id").read_text()
    assert [step for step, _ in wandb.logged] == [100, 200]
    assert wandb.logged[0][1] == {k: v for k, v in RECORD.items() if k != "step" and v is not None}
    assert wandb.finished == 2


def test_wandb_without_the_package_is_refused_before_anything_starts(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "wandb" else find_spec(name)
    )
    cfg = default_config()
    cfg.wandb_project = "impala"
    with pytest.raises(ValueError, match="wandb_project='impala' needs the wandb package"):
        validate(cfg)


def test_progress_mode_is_checked():
    cfg = default_config()
    cfg.progress = "verbose"
    with pytest.raises(ValueError, match="progress='verbose' is invalid: expected one of"):
        validate(cfg)


def gif_duration_ms(gif) -> int:
    total = 0
    for index in range(gif.n_frames):
        gif.seek(index)
        total += gif.info["duration"]
    return total


def test_record_writes_a_gif_of_greedy_cartpole_episodes(tmp_path):
    cfg = tiny_config(tmp_path, env_id="CartPole-v1", progress="none")
    trainer = DistributedTrainer(cfg)
    video = trainer.record(str(tmp_path / "cartpole.gif"), num_episodes=2, fps=50)
    trainer.close()
    with Image.open(video["path"]) as gif:
        assert gif.format == "GIF" and gif.size == (600, 400)
        # Pillow merges identical consecutive frames into one shown longer: the duration counts them all.
        assert gif_duration_ms(gif) == 20 * video["num_frames"]  # 20 ms per frame at 50 fps
    # The reset frame, then one per env step: both episodes and EnvPool's reset step between them.
    assert video["num_frames"] == 2 * video["episode_length"] + 2
    assert video["num_episodes"] == 2


def test_the_record_command_plays_a_run_from_its_newest_checkpoint(tmp_path, capsys):
    cfg = tiny_config(tmp_path, env_id="CartPole-v1", progress="none")
    trainer = DistributedTrainer(cfg)
    trainer.train()
    trainer.close()
    capsys.readouterr()
    assert record.main([str(tmp_path), "--out", str(tmp_path / "agent.gif")]) == 0
    out = capsys.readouterr().out
    assert f"resuming from the checkpoint at env step {trainer.env_steps:,}" in out
    frames = int(out.split("agent.gif: ")[1].split(" frames")[0])
    with Image.open(tmp_path / "agent.gif") as gif:
        assert gif_duration_ms(gif) == 40 * frames
    assert record.main([str(tmp_path / "missing"), "--out", str(tmp_path / "x.gif")]) == 2
    assert "cannot read the run's config" in capsys.readouterr().err


def test_record_writes_atari_frames_from_an_untrained_agent(tmp_path):
    cfg = load_config("impala_atari")
    cfg.update(num_actors=1, num_envs=2, batch_size=2, workdir=str(tmp_path), progress="none")
    cfg.test_env_kwargs = dict(cfg.test_env_kwargs, max_episode_steps=60)  # a short game
    trainer = DistributedTrainer(cfg)
    video = trainer.record(str(tmp_path / "breakout.gif"))
    trainer.close()
    assert video["episode_length"] == 60 and video["num_frames"] == 61
    with Image.open(video["path"]) as gif:
        assert (
            gif.size == (160, 210) and gif_duration_ms(gif) == 61 * 40
        )  # 40 ms a frame at the default 25 fps


def test_video_paths_and_writers_are_checked_before_playing(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"must end in one of \('.gif', '.mp4'\)"):
        check_video_path("episode.avi")
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "imageio_ffmpeg" else find_spec(name)
    )
    with pytest.raises(ValueError, match="needs imageio and imageio-ffmpeg"):
        check_video_path("episode.mp4")


def test_mujoco_rendering_without_opengl_is_refused(monkeypatch):
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    with pytest.raises(ValueError, match="rendering HalfCheetah-v4 needs an OpenGL context"):
        make_env(load_config("impala_mujoco"), test=True, render=True)


def test_the_config_table_has_every_field(capsys):
    assert config_table.main([]) == 0
    printed = capsys.readouterr().out
    assert printed.strip() == config_table.config_table()
    for field in default_config():
        assert f"| `{field}` |" in printed


def test_a_stale_config_table_is_caught(tmp_path):
    readme = tmp_path / "README.md"
    stale = config_table.config_table().replace("| `lr` | `0.0004` |", "| `lr` | `0.001` |")
    readme.write_text(f"intro\n{config_table.BEGIN}\n{stale}\n{config_table.END}\nrest\n")
    assert config_table.main(["--check", str(readme)]) == 1
    assert config_table.main(["--write", str(readme)]) == 0
    assert config_table.main(["--check", str(readme)]) == 0
    assert readme.read_text().startswith("intro\n") and readme.read_text().endswith("rest\n")


def test_ci_runs_the_readmes_test_command():
    readme = (ROOT / "README.md").read_text()
    command = readme.split("Run the tests", 1)[1].split("```bash\n", 1)[1].split("\n", 1)[0]
    assert command.startswith("python3 -m venv .venv && ") and command.endswith("pytest -n 2")
    assert command in (ROOT / ".ci" / "run").read_text().splitlines()
