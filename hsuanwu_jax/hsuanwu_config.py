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
from typing import Any, NamedTuple

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
# Hsuanwu encoder name -> our encoder, and the feature size ours has (None: any, it sets the MLP).
_ENCODERS = {
    "MnihCnnEncoder": ("nature_cnn", 512),
    "EspeholtResidualEncoder": ("resnet", 256),
    "IdentityEncoder": ("mlp", None),
    "VanillaMlpEncoder": ("mlp", None),
}
_AGENT_FIELDS = ("lr", "eps", "use_lstm", "ent_coef", "baseline_coef", "max_grad_norm", "discount")
# network_init_method -> weight_init. "identity" keeps each layer's framework default (PyTorch's there).
_WEIGHT_INITS = {"orthogonal": "orthogonal", "identity": "lecun"}
_DISTRIBUTIONS = ("Categorical", "DiagonalGaussian")
# Hsuanwu's IMPALA defaults (impala.yaml), which it used for the keys a config leaves out.
HSUANWU_DEFAULTS = {"num_steps": 80, "num_test_episodes": 10, "num_train_steps": 30_000_000}
HSUANWU_ROLLOUTS_PER_UPDATE = 4  # storage.batch_size
HSUANWU_ENCODER_BY_RANK = {3: "MnihCnnEncoder", 1: "IdentityEncoder"}  # images, vectors


class EnvFacts(NamedTuple):
    """What validation needs from the train env a script hands over (None where unknown)."""

    total_envs: int | None = None  # envs in train_env, all actors together
    env_id: str | None = None  # the EnvPool task id
    same_tasks: tuple[str, ...] = ()  # every task id EnvPool makes identically (HalfCheetah-v3 and -v4)
    env_kwargs: Mapping[str, Any] | None = None  # its envpool.make arguments
    obs_rank: int | None = None  # 3 for [C, H, W] frames, 1 for vectors


def is_hsuanwu_tree(config: Mapping[str, Any]) -> bool:
    """Whether `config` is in Hsuanwu's layout (its own sections or top-level keys) rather than ours."""
    return any(key in config for key in _HSUANWU_ONLY_KEYS) or isinstance(config.get("encoder"), Mapping)


def translate(
    tree: Mapping[str, Any], flat_fields: Mapping[str, Any], env: EnvFacts
) -> tuple[dict[str, Any], list[str]]:
    """Hsuanwu's config `tree` as our flat fields, and one note per key accepted but ignored or changed.

    Keys the tree leaves out take Hsuanwu's IMPALA defaults (unroll 80, 4 rollouts per update, 10 test
    episodes, 30M steps, the encoder by observation rank), as Hsuanwu filled them. `flat_fields` are our
    fields with their defaults (keys of the tree that are ours pass through). Raises ValueError naming
    the key for one with no counterpart.
    """
    flat: dict[str, Any] = {}
    notes: list[str] = []
    for key, value in tree.items():
        if key in _SECTIONS and not (key == "encoder" and isinstance(value, str)):
            _SECTIONS[key](_section(key, value), flat, notes)
        elif key in _TOP_LEVEL:
            _TOP_LEVEL[key](value, flat, notes)
        elif key in flat_fields:
            flat[key] = value
        else:
            raise ValueError(
                f"Hsuanwu config key {key!r} has no counterpart in hsuanwu_jax (README, 'Coming from Hsuanwu', "
                "lists every key it takes)"
            )
    for field, value in HSUANWU_DEFAULTS.items():
        flat.setdefault(field, value)
    if "encoder" not in flat and env.obs_rank in HSUANWU_ENCODER_BY_RANK:
        _encoder({"name": HSUANWU_ENCODER_BY_RANK[env.obs_rank]}, flat, notes)
    if "num_actors" not in flat:
        notes.append(
            f"num_actors not given: {flat_fields['num_actors']} actor threads share the envs (Hsuanwu's "
            "default was 45 actor processes)"
        )
    num_actors = flat.get("num_actors", flat_fields["num_actors"])
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


def _check_keys(section: str, values: Mapping[str, Any], known: tuple[str, ...]) -> None:
    for key in values:
        if key not in known:
            raise ValueError(
                f"Hsuanwu config key {section}.{key} has no counterpart in hsuanwu_jax; {section} takes {list(known)}"
            )


def _encoder(values, flat, notes):
    _check_keys("encoder", values, ("name", "feature_dim", "hidden_dim"))
    name = values.get("name")
    if name is None:
        return  # Hsuanwu picks by observation rank; so does the default here: keep the flat field
    if name not in _ENCODERS:
        raise ValueError(
            f"Hsuanwu config key encoder.name={name!r} has no counterpart in hsuanwu_jax: it has "
            f"{sorted(_ENCODERS)} (as nature_cnn, resnet, mlp)"
        )
    encoder, features = _ENCODERS[name]
    flat["encoder"] = encoder
    feature_dim = values.get("feature_dim")
    if encoder != "mlp":
        if feature_dim is not None and feature_dim != features:
            raise ValueError(
                f"Hsuanwu config key encoder.feature_dim={feature_dim} is not available for {name}: "
                f"{encoder} has {features} features"
            )
        if "hidden_dim" in values:
            raise ValueError(
                f"Hsuanwu config key encoder.hidden_dim applies to VanillaMlpEncoder, not {name}"
            )
    elif name == "IdentityEncoder":
        flat["mlp_hidden_sizes"] = ()  # the observation itself feeds the heads
    else:
        flat["mlp_hidden_sizes"] = (int(values.get("hidden_dim", 64)), int(feature_dim or 64))
        notes.append(
            f"encoder {name}: an MLP of {flat['mlp_hidden_sizes']} units with ReLU (Hsuanwu's used tanh)"
        )


def _agent(values, flat, notes):
    _check_keys("agent", values, ("name", *_AGENT_FIELDS, "network_init_method"))
    if values.get("name", "IMPALA") != "IMPALA":
        raise ValueError(
            f"Hsuanwu config key agent.name={values['name']!r} is not available: hsuanwu_jax implements IMPALA "
            "(Hsuanwu's DistributedTrainer) only"
        )
    for field in _AGENT_FIELDS:
        if field in values:
            flat[field] = values[field]
    method = values.get("network_init_method")
    if method is not None:
        if method not in _WEIGHT_INITS:
            raise ValueError(
                f"Hsuanwu config key agent.network_init_method={method!r} has no counterpart: accepted "
                f"{sorted(_WEIGHT_INITS)}"
            )
        flat["weight_init"] = _WEIGHT_INITS[method]


def _storage(values, flat, notes):
    _check_keys("storage", values, ("name", "num_storages", "batch_size"))
    if values.get("name", "DistributedStorage") != "DistributedStorage":
        raise ValueError(
            f"Hsuanwu config key storage.name={values['name']!r} does not fit IMPALA: use DistributedStorage"
        )
    if "num_storages" in values:
        notes.append(
            "storage.num_storages ignored: actors hand whole rollouts to a bounded queue (queue_size) "
            "instead of shared-memory slots"
        )


def _distribution(values, flat, notes):
    _check_keys("distribution", values, ("name",))
    name = values.get("name")
    if name is not None and name not in _DISTRIBUTIONS:
        raise ValueError(
            f"Hsuanwu config key distribution.name={name!r} has no counterpart: the action space chooses "
            "Categorical (Discrete) or DiagonalGaussian (Box)"
        )


def _absent_module(section: str, what: str):
    def check(values, flat, notes):
        name = values.get("name")
        if name is not None:
            raise ValueError(
                f"Hsuanwu config key {section}.name={name!r} ({what}) has no counterpart in hsuanwu_jax: "
                f"remove the {section} section or set its name to null"
            )

    return check


_SECTIONS = {
    "encoder": _encoder,
    "agent": _agent,
    "storage": _storage,
    "distribution": _distribution,
    "augmentation": _absent_module("augmentation", "an observation augmentation"),
    "reward": _absent_module("reward", "an intrinsic reward"),
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
