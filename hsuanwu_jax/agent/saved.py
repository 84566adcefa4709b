"""Model exports on disk: an agent's network arguments, params, env spec and PopArt statistics.

An export is a directory with `params.msgpack` (Flax's msgpack serialisation of the params) and
`model.json` (format, network arguments, observation and action specs, the training config).
Loading parses data only: no pickle, no code from the file."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Any

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np

from hsuanwu_jax.agent.networks import ImpalaNetwork
from hsuanwu_jax.agent.params import init_params
from hsuanwu_jax.config.fields import (
    ACTION_SQUASHES,
    ENCODERS,
    LEGACY_NETWORK_DEFAULTS,
    RESOLVED_VALUE_NETWORKS,
    WEIGHT_INITS,
)
from hsuanwu_jax.core.distributions import DISTRIBUTIONS
from hsuanwu_jax.core.popart import PopArtStats
from hsuanwu_jax.core.spec import EnvSpec, spec_differences, spec_from_json
from hsuanwu_jax.core.types import Params

EXPORT_FORMAT = "hsuanwu_jax.export/1"


PARAMS_FILE, META_FILE = "params.msgpack", "model.json"


def check_spec(saved: EnvSpec, actual: EnvSpec, what: str) -> None:
    """Raises a ValueError naming each field where the export's spec and an env's differ."""
    differences = spec_differences(saved, actual, "export", "env")
    if differences:
        raise ValueError(f"{what} does not match the env: " + "; ".join(differences))


def write_export(path: str, params: Params, metadata: dict[str, Any]) -> str:
    """Writes an export atomically: a reader sees the old export or the new one, whole, at every moment.

    The files go into a new hidden directory beside `path`, and `path` is a symbolic link that is
    swapped to it in one rename; the export it replaces is kept until the next save (a reader that
    resolved the link just before the swap can still finish), older ones are removed.
    """
    path = os.path.abspath(path)
    parent, name = os.path.split(path)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{name}-", dir=parent)
    with open(os.path.join(staging, PARAMS_FILE), "wb") as f:
        f.write(flax.serialization.to_bytes(params))
    with open(os.path.join(staging, META_FILE), "w", encoding="utf-8") as f:
        json.dump({"format": EXPORT_FORMAT, **metadata}, f, indent=2, default=list)
    previous = os.path.realpath(path) if os.path.islink(path) else None
    if os.path.isdir(path) and not os.path.islink(path):  # an export written before exports were links
        os.replace(path, path + ".old")
        previous = path + ".old"
    link = os.path.join(parent, f".{name}-link-{os.getpid()}")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(os.path.basename(staging), link)
    os.replace(link, path)
    for entry in os.listdir(parent):  # versions older than the one just replaced
        full = os.path.join(parent, entry)
        if entry.startswith(f".{name}-") and os.path.isdir(full) and full not in (staging, previous):
            shutil.rmtree(full, ignore_errors=True)
    if previous and previous.endswith(".old"):
        shutil.rmtree(previous, ignore_errors=True)
    return path


def _read_files(path: str, attempts: int = 5) -> tuple[bytes, bytes]:
    """The bytes of the export's two files, both from one version: `path` is resolved once per attempt,
    and an attempt whose version a concurrent save removed is retried on the new one."""
    for _ in range(attempts):
        version = os.path.realpath(path)
        try:
            return _read_version(version)
        except FileNotFoundError:
            if os.path.realpath(path) == version:  # not swapped by a save meanwhile: really missing
                break
    missing = next(
        (n for n in (META_FILE, PARAMS_FILE) if not os.path.isfile(os.path.join(version, n))), META_FILE
    )
    raise FileNotFoundError(f"{os.path.join(path, missing)} is missing: {path!r} is not a complete export")


def _read_version(version: str) -> tuple[bytes, bytes]:
    with (
        open(os.path.join(version, META_FILE), "rb") as meta,
        open(os.path.join(version, PARAMS_FILE), "rb") as params,
    ):
        return meta.read(), params.read()


def read_export(path: str) -> tuple[ImpalaNetwork, EnvSpec, Params, dict[str, Any]]:
    """Reads and checks an export: `(network, spec, params, metadata)`; clear errors for a missing,
    truncated or foreign export and for unknown network names."""
    meta_bytes, data = _read_files(path)
    try:
        metadata = json.loads(meta_bytes.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(
            f"{os.path.join(path, META_FILE)} is not readable JSON (truncated or corrupted): {error}"
        ) from None
    if not isinstance(metadata, dict) or metadata.get("format") != EXPORT_FORMAT:
        found = metadata.get("format") if isinstance(metadata, dict) else type(metadata).__name__
        raise ValueError(f"{path!r} has format {found!r}, expected {EXPORT_FORMAT!r}")
    missing = [key for key in ("network", "spec") if not isinstance(metadata.get(key), dict)]
    if missing:
        raise ValueError(
            f"{os.path.join(path, META_FILE)} has no {' or '.join(map(repr, missing))} section: not a complete export"
        )
    # Exports written before these fields existed: Flax's default init (and LEGACY_NETWORK_DEFAULTS).
    network_args = {"weight_init": "lecun", **LEGACY_NETWORK_DEFAULTS, **metadata["network"]}
    choices = {
        "encoder": ENCODERS,
        "distribution": DISTRIBUTIONS,
        "weight_init": WEIGHT_INITS,
        "value_network": RESOLVED_VALUE_NETWORKS,
        "action_squash": ACTION_SQUASHES,
    }
    for field, accepted in choices.items():
        if network_args.get(field) not in accepted:
            raise ValueError(f"export {field}={network_args.get(field)!r} is not one of {accepted}")
    try:
        network_args["mlp_hidden_sizes"] = tuple(network_args["mlp_hidden_sizes"])
        if network_args.get("action_bounds") is not None:  # JSON lists; exports before 2026-11-26 have none
            network_args["action_bounds"] = tuple(map(tuple, network_args["action_bounds"]))
        network = ImpalaNetwork(**network_args)
        spec = spec_from_json(metadata["spec"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(
            f"{os.path.join(path, META_FILE)} does not describe a network and spaces this version reads "
            f"({type(error).__name__}: {error})"
        ) from None
    template = init_params(network, spec, jax.random.PRNGKey(0))
    try:
        params = flax.serialization.from_bytes(template, data)
    except Exception as error:
        raise ValueError(f"{os.path.join(path, PARAMS_FILE)} is truncated or corrupted ({error})") from None
    shapes = jax.tree.map(np.shape, params), jax.tree.map(np.shape, template)
    if shapes[0] != shapes[1]:
        raise ValueError(
            f"{os.path.join(path, PARAMS_FILE)} does not hold params of the network in {META_FILE}"
        )
    return network, spec, params, metadata


def stats_to_json(stats: PopArtStats | None) -> dict[str, float | list[float]] | None:
    """Each statistic as a float, or a list of one per task (multi-task PopArt)."""
    if stats is None:
        return None
    return {name: np.asarray(value, np.float64).tolist() for name, value in stats._asdict().items()}


def stats_from_json(data: dict[str, float | list[float]] | None) -> PopArtStats | None:
    """The PopArt statistics an export stores (None: trained without PopArt). Exports written before
    the variance was kept (2026-11-25) hold the second moment instead: the variance is derived from it;
    those written before the reward range was kept (2026-11-26) start it at 0, as a fresh run does."""
    if data is None:
        return None
    variance = data["variance"] if "variance" in data else data["second_moment"] - data["mean"] ** 2
    reward_range = (data.get("reward_min", 0.0), data.get("reward_max", 0.0))
    return PopArtStats(*(jnp.asarray(x, jnp.float32) for x in (data["mean"], variance, *reward_range)))
