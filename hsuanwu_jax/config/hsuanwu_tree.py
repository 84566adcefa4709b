"""Hsuanwu's config tree (hydra/omegaconf: `agent:`, `encoder:`, `storage:` sections) translated into our
flat fields, once, at validation.

Every key Hsuanwu's IMPALA configs use (RLE-Foundation/Hsuanwu, `hsuanwu/common/engine/
base_policy_trainer.py` and `hsuanwu/xploit/agent/impala.yaml`) maps to a field with the same meaning,
is accepted and ignored with a note saying why, or is refused with a ValueError naming the key and
the reason. Our own flat fields may appear in the tree beside Hsuanwu's keys. Pure: no devices, no files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from hsuanwu_jax.config.hsuanwu_sections import SECTIONS, encoder_section
from hsuanwu_jax.config.sizing import AUTO, host_actor_count
from hsuanwu_jax.core.spec import EnvFacts
from hsuanwu_jax.runtime.host import HostFacts

# Keys only Hsuanwu's tree has: a config holding any of them is translated.
_HSUANWU_ONLY_KEYS = (
    "device",
    "num_learners",
    "test_every_episodes",
    "test_every_steps",
    "num_init_steps",
    "pretraining",
    "agent",
    "storage",
    "distribution",
    "augmentation",
    "reward",
)


# Hsuanwu's IMPALA defaults (impala.yaml), which it used for the keys a config leaves out.
HSUANWU_DEFAULTS = {"num_steps": 80, "num_test_episodes": 10, "num_train_steps": 30_000_000}


HSUANWU_ROLLOUTS_PER_UPDATE = 4  # storage.batch_size


HSUANWU_ENCODER_BY_RANK = {3: "MnihCnnEncoder", 1: "IdentityEncoder"}  # images, vectors


def is_hsuanwu_tree(config: Mapping[str, Any]) -> bool:
    """Whether `config` is in Hsuanwu's layout (its own sections or top-level keys) rather than ours."""
    return any(key in config for key in _HSUANWU_ONLY_KEYS) or isinstance(config.get("encoder"), Mapping)


def translate(
    tree: Mapping[str, Any], flat_fields: Mapping[str, Any], env: EnvFacts, host: HostFacts
) -> tuple[dict[str, Any], list[str]]:
    """Hsuanwu's config `tree` as our flat fields, and one note per key accepted but ignored or changed.

    Keys the tree leaves out take Hsuanwu's IMPALA defaults (unroll 80, 4 rollouts per update, 10 test
    episodes, 30M steps, the encoder by observation rank), as Hsuanwu filled them. `flat_fields` are our
    fields with their defaults (keys of the tree that are ours pass through). Raises ValueError naming
    the key for one with no counterpart. `host` sizes an "auto" `num_actors` (config/sizing.py).
    """
    flat: dict[str, Any] = {}
    notes: list[str] = []
    for key, value in tree.items():
        if key in SECTIONS and not (key == "encoder" and isinstance(value, str)):
            SECTIONS[key](_section(key, value), flat, notes)
        elif key in _TOP_LEVEL:
            _TOP_LEVEL[key](value, flat, notes)
        elif key in flat_fields:
            flat[key] = value
        else:
            raise ValueError(
                f"Hsuanwu config key {key!r} has no counterpart in hsuanwu_jax (docs/guides/hsuanwu.md "
                "lists every key it takes)"
            )
    for field, value in HSUANWU_DEFAULTS.items():
        flat.setdefault(field, value)
    if "encoder" not in flat and env.obs_rank in HSUANWU_ENCODER_BY_RANK:
        encoder_section({"name": HSUANWU_ENCODER_BY_RANK[env.obs_rank]}, flat, notes)
    num_actors = flat.get("num_actors", flat_fields["num_actors"])
    if num_actors == AUTO:  # resolved here, where the envs are shared out by it
        num_actors = env.actor_envs or host_actor_count(host, 1, divides=env.total_envs)
        flat["num_actors"] = num_actors
        notes.append(
            f"num_actors not given: {num_actors} actor threads share the envs, sized to this host "
            "(config/sizing.py; Hsuanwu's default was 45 actor processes)"
        )
    if "num_envs" not in flat and env.total_envs is not None:
        flat["num_envs"] = max(1, env.total_envs // num_actors)  # check_actor_envs refuses a remainder
    storage = tree.get("storage") or {}
    rollouts = storage.get("batch_size", HSUANWU_ROLLOUTS_PER_UPDATE)
    flat["batch_size"] = _batch_size(rollouts, flat.get("num_envs", flat_fields["num_envs"]), flat, notes)
    return flat, notes


def _section(key: str, value) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"Hsuanwu config section {key!r} must be a mapping (e.g. {key}: {{name: ...}})")
    return value


def _same(field: str):
    def put(value, flat, notes):
        flat[field] = value

    return put


def _ignored(why: str):
    def note(value, flat, notes):
        notes.append(why)

    return note


def _device(value, flat, notes):
    notes.append(
        f"device={value!r} ignored: JAX learns on every local device and acts on the first one "
        "(learner_device_ids / actor_device_id choose)"
    )


def _pretraining(value, flat, notes):
    if value:
        raise ValueError(
            "Hsuanwu config key 'pretraining: true' needs an intrinsic reward module, which hsuanwu_jax does "
            "not have: set it to false"
        )


def _init_model_path(value, flat, notes):
    if value is None:
        flat["init_model_path"] = ""
        return
    path = os.fspath(value)
    if path.endswith(".pth") or (os.path.isdir(path) and any(n.endswith(".pth") for n in os.listdir(path))):
        raise ValueError(
            f"Hsuanwu config key init_model_path={path!r} holds PyTorch model files (.pth, pickles), which "
            "hsuanwu_jax never loads: give a hsuanwu_jax model export (trainer.save()) or null"
        )
    flat["init_model_path"] = path


_TOP_LEVEL = {
    "device": _device,
    "seed": _same("seed"),
    "num_train_steps": _same("num_train_steps"),
    "num_actors": _same("num_actors"),
    "num_steps": _same("num_steps"),
    "num_test_episodes": _same("num_test_episodes"),
    "init_model_path": _init_model_path,
    "pretraining": _pretraining,
    "num_learners": _ignored(
        "num_learners ignored: each update is one jitted step over every learner device, not learner threads"
    ),
    "test_every_episodes": _ignored(
        "test_every_episodes ignored: Hsuanwu's DistributedTrainer never tested during training "
        "(set test_every, in env steps, for periodic greedy tests)"
    ),
    "test_every_steps": _ignored(
        "test_every_steps ignored: it applies to Hsuanwu's off-policy trainers only "
        "(set test_every, in env steps, for periodic greedy tests)"
    ),
    "num_init_steps": _ignored("num_init_steps ignored: it applies to Hsuanwu's off-policy trainers only"),
}


def _batch_size(rollouts, num_envs: int, flat, notes) -> int:
    """Hsuanwu's `storage.batch_size` counts rollouts of one env; ours counts env rollouts too but takes
    them in whole actor rollouts of `num_envs` envs: the nearest multiple of `num_envs` (at least one)."""
    if not isinstance(rollouts, int) or isinstance(rollouts, bool) or rollouts < 1:
        raise ValueError(f"Hsuanwu config key storage.batch_size={rollouts!r} must be an integer >= 1")
    batch = max(1, round(rollouts / num_envs)) * num_envs
    if batch != rollouts:
        num_steps = flat.get("num_steps", "num_steps")
        notes.append(
            f"storage.batch_size={rollouts} became batch_size={batch}: a batch is made of whole actor "
            f"rollouts of num_envs={num_envs} envs ({batch} x {num_steps} samples per update)"
        )
    return batch
