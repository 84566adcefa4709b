"""Training progress for people: a tqdm bar (terminal or notebook) and one line per log step."""

from __future__ import annotations

import sys
from typing import Any

from tqdm.auto import tqdm


def format_progress(record: dict[str, Any]) -> str:
    """A one-line summary of a metrics record for the terminal."""
    reward = record.get("episode_reward")
    reward_text = "   n/a" if reward is None else f"{reward:8.2f}"
    line = (
        f"step {record['step']:>11,} | sps {record['sps']:>9,.0f} | episode_reward {reward_text} | "
        f"loss {record['loss']:9.3f} | entropy {record['entropy']:.3f} | lag {record['policy_lag_mean']:.2f}"
    )
    if record.get("test_episode_reward") is not None:
        line += f" | test {record['test_episode_reward']:.2f} {record.get('test_policy', 'greedy')}"
    worst = record.get("test_worst_task")  # a multi-task run's test: its worst task too
    if worst is not None:
        normalised = record.get(f"test_human_normalised/{worst}")
        score = record[f"test_episode_reward/{worst}"] if normalised is None else normalised
        line += f" (worst {worst} {score:.2f}{' human-normalised' if normalised is not None else ''})"
    return line


def shows_a_bar() -> bool:
    """Whether a progress bar can be seen: stderr (where tqdm draws) is a terminal, or this runs in a
    notebook's kernel (Jupyter, Colab). A batch job's log file is neither: redraws would fill it with
    carriage returns."""
    if sys.stderr is not None and sys.stderr.isatty():
        return True
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return getattr(shell, "kernel", None) is not None


class Progress:
    """Shows a run's progress in one of the config's `progress` modes.

    "bar": a tqdm bar over env steps (tqdm.auto: a widget in a notebook, text in a terminal) with the
    rate in env steps/s and the latest episode reward, and each log line printed above it;
    "lines": only the log lines (batch jobs whose logs should not hold bar redraws); "none": quiet;
    "auto": "bar" where one can be seen (`shows_a_bar`), else "lines".
    """

    def __init__(self, mode: str, total: int, initial: int = 0):
        if mode == "auto":
            mode = "bar" if shows_a_bar() else "lines"
        self._mode = mode
        self._first_line = True
        self._bar = None
        if mode == "bar":
            self._bar = tqdm(
                total=total,
                initial=initial,
                unit="step",
                unit_scale=True,
                dynamic_ncols=True,
                mininterval=0.5,
            )

    def advance(self, env_steps: int) -> None:
        """Moves the bar to `env_steps` (the run's total so far)."""
        if self._bar is not None:
            self._bar.update(env_steps - self._bar.n)

    def log(self, record: dict[str, Any]) -> None:
        """Shows one metrics record (a line, and the bar's episode reward); its `collapse_warning` and
        `stall_warning` (one or more, "; " between them), if any, as lines of their own in every mode."""
        warnings = [record.get("collapse_warning"), *(record.get("stall_warning") or "").split("; ")]
        for warning in filter(None, warnings):
            self._print(f"WARNING: {warning}")
        if self._mode == "none":
            return
        line = format_progress(record)
        if self._first_line and "compile_seconds" in record:  # what start-up cost, said once
            self._first_line = False
            line += (
                f" | compiled in {record['compile_seconds']:.1f} s (persistent cache: "
                f"{record['compile_cache_hits']} hits, {record['compile_cache_misses']} misses)"
            )
        if self._bar is not None and record.get("episode_reward") is not None:
            self._bar.set_postfix(episode_reward=f"{record['episode_reward']:.2f}", refresh=False)
        self._print(line)

    def _print(self, line: str) -> None:
        if self._bar is None:
            print(line, flush=True)
        else:
            self._bar.write(line)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
