"""Metrics records and metrics.jsonl (outputs/records.py): half-written lines never spread or count."""

import json
import os

from helpers import tiny_config, trainer_for

from hsuanwu_jax.outputs.records import read_metrics


def test_metrics_never_append_to_a_half_written_line(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"step": 40, "sp')  # killed during its first write
    trainer = trainer_for(tiny_config(tmp_path, num_train_steps=800))
    trainer.train()
    trainer.close()
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert lines and len(read_metrics(str(tmp_path / "metrics.jsonl"))) == len(lines)
    assert all(json.loads(line)["step"] > 0 for line in lines)


def test_metrics_reader_skips_a_half_written_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "sps": 2}\n{"step": 2, "sp')
    assert read_metrics(str(path)) == [{"step": 1, "sps": 2}]
    assert os.path.exists(path)
