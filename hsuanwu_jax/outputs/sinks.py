"""Where metrics records go: metrics.jsonl always, TensorBoard event files and Weights & Biases runs (each
switched on by config), and Hsuanwu's CSV logs."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from typing import Any

from hsuanwu_jax.outputs.hsuanwu_logs import HsuanwuLogs
from hsuanwu_jax.outputs.records import MetricsWriter, jsonable, write_atomically


class MetricSinks:
    """Every sink a run's config asks for, written together: metrics.jsonl always, then TensorBoard, W&B
    and Hsuanwu's CSV logs."""

    def __init__(
        self,
        workdir: str,
        *,
        tensorboard: bool,
        wandb_project: str,
        wandb_entity: str,
        config: Mapping,
        hsuanwu_logs: bool = False,
    ):
        os.makedirs(workdir, exist_ok=True)
        write_atomically(
            os.path.join(workdir, "config.json"), json.dumps(dict(config), default=list, indent=1)
        )
        self._sinks = [MetricsWriter(os.path.join(workdir, "metrics.jsonl"))]
        if tensorboard:
            self._sinks.append(TensorBoardWriter(os.path.join(workdir, "tensorboard")))
        if wandb_project:
            self._sinks.append(WandbWriter(workdir, wandb_project, wandb_entity, config))
        if hsuanwu_logs:
            self._sinks.append(HsuanwuLogs(workdir))

    def write(self, record: dict[str, Any]) -> None:
        for sink in self._sinks:
            sink.write(record)

    def close(self) -> None:
        for sink in self._sinks:
            sink.close()


class TensorBoardWriter:
    """Writes every numeric field of a record as a scalar at `step` to TensorBoard event files in `logdir`."""

    def __init__(self, logdir: str):
        from tensorboardX import SummaryWriter  # imported here: only runs that ask for it pay for it

        self._writer = SummaryWriter(logdir)

    def write(self, record: dict[str, Any]) -> None:
        for name, value in _scalars(record).items():
            self._writer.add_scalar(name, value, global_step=record["step"])
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


class WandbWriter:
    """Logs each record to a Weights & Biases run (wandb is optional: only this class imports it).

    The run id is kept in `<workdir>/wandb_run_id`, so a resumed training run continues the same W&B run.
    """

    def __init__(self, workdir: str, project: str, entity: str, config: Mapping[str, Any]):
        import wandb

        id_path = os.path.join(workdir, "wandb_run_id")
        if os.path.exists(id_path):
            with open(id_path, encoding="utf-8") as f:
                run_id = f.read().strip()
        else:
            run_id = uuid.uuid4().hex[:16]
            write_atomically(id_path, run_id)
        self._run = wandb.init(
            project=project,
            entity=entity or None,
            config=json.loads(json.dumps(dict(config), default=list)),
            dir=workdir,
            id=run_id,
            resume="allow",
        )

    def write(self, record: dict[str, Any]) -> None:
        self._run.log(_scalars(record), step=record["step"])

    def close(self) -> None:
        self._run.finish()


def _scalars(record: dict[str, Any]) -> dict[str, float]:
    """The finite numeric fields of a record other than `step`."""
    return {
        name: value
        for name, value in ((k, jsonable(v)) for k, v in record.items() if k != "step")
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }
