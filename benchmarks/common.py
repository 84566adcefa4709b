"""What the benchmark scripts share: a table on stdout and a JSON file with the machine named."""

from __future__ import annotations

import json
import os
import platform


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
