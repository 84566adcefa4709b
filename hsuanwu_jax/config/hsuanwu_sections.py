"""The sections of Hsuanwu's config tree (`encoder:`, `agent:`, `storage:`, ...): each key mapped to our flat
fields, noted as ignored, or refused with the reason (see hsuanwu_tree.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


def _check_keys(section: str, values: Mapping[str, Any], known: tuple[str, ...]) -> None:
    for key in values:
        if key not in known:
            raise ValueError(
                f"Hsuanwu config key {section}.{key} has no counterpart in hsuanwu_jax; {section} takes {list(known)}"
            )


def encoder_section(values, flat, notes):
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


SECTIONS = {
    "encoder": encoder_section,
    "agent": _agent,
    "storage": _storage,
    "distribution": _distribution,
    "augmentation": _absent_module("augmentation", "an observation augmentation"),
    "reward": _absent_module("reward", "an intrinsic reward"),
}
