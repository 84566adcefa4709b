"""When the periodic jobs of a training run are due: log lines, tests and checkpoints."""

from __future__ import annotations

import math
from typing import NamedTuple


class Due(NamedTuple):
    log: bool
    test: bool
    checkpoint: bool


class Schedule:
    """When logging, testing and checkpointing are due, in env steps.

    Tests and checkpoints fall on multiples of `test_every` / `checkpoint_every` (0: never; a
    checkpoint is still written when training ends); a log line is written `log_every` env steps
    after the previous one, with every test and every checkpoint, and when training ends. A line at
    each checkpoint means a resume, which drops the lines after its checkpoint, leaves no env steps
    that no line accounts for.
    """

    def __init__(self, env_steps: int, *, log_every: int, test_every: int, checkpoint_every: int):
        self._log_every, self._test_every, self._checkpoint_every = log_every, test_every, checkpoint_every
        self._last_log = env_steps
        self._next_test = _next_multiple(env_steps, test_every)
        self._next_checkpoint = _next_multiple(env_steps, checkpoint_every)

    def due(self, env_steps: int, finished: bool, stopping: bool = False) -> Due:
        """What is due after an update that reached `env_steps`; `stopping`: a stop request ends the run
        here (it gets a checkpoint, and so a log line)."""
        test = env_steps >= self._next_test
        checkpoint = finished or stopping or env_steps >= self._next_checkpoint
        log = checkpoint or test or env_steps - self._last_log >= self._log_every
        return Due(log, test, checkpoint)

    def logged(self, env_steps: int, tested: bool) -> None:
        self._last_log = env_steps
        if tested:
            self._next_test = _next_multiple(env_steps, self._test_every)

    def checkpointed(self, env_steps: int) -> None:
        self._next_checkpoint = _next_multiple(env_steps, self._checkpoint_every)


def _next_multiple(steps: int, every: int) -> float:
    """The first multiple of `every` above `steps` (infinity when `every` is 0: never)."""
    return (steps // every + 1) * every if every > 0 else math.inf
