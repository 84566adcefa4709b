"""The agent: network, distribution, loss, optimizer, the data-parallel learner step and the policies,
built from the settings, the envs' spec and the run plan; and the params it starts from."""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from hsuanwu_jax.agent.data_parallel import DataParallelUpdate
from hsuanwu_jax.agent.losses import LossFn, LossHyperParams, make_impala_loss
from hsuanwu_jax.agent.networks import ImpalaNetwork
from hsuanwu_jax.agent.optim import LearningRate, make_optimizer
from hsuanwu_jax.agent.params import init_params
from hsuanwu_jax.agent.policy import PolicyFn, make_policy_fn
from hsuanwu_jax.agent.saved import check_spec, read_export, stats_from_json
from hsuanwu_jax.agent.update import make_update_fns, rescale_value_head
from hsuanwu_jax.config.fields import INIT_ONLY_FIELDS, NETWORK_FIELDS
from hsuanwu_jax.config.settings import Settings
from hsuanwu_jax.core import popart
from hsuanwu_jax.core.distributions import action_distribution
from hsuanwu_jax.core.spec import EnvSpec
from hsuanwu_jax.core.types import LearnerState, Params
from hsuanwu_jax.parallel.mesh import BATCH_AXIS
from hsuanwu_jax.parallel.plan import RunPlan
from hsuanwu_jax.runtime.compilation import jit_quick_compile


class Agent(NamedTuple):
    """What learns and acts; everything in it is a pure function or an immutable description."""

    network: ImpalaNetwork
    network_args: dict[str, Any]  # ImpalaNetwork's arguments, as stored in model exports
    update: DataParallelUpdate  # (LearnerState, sharded batch) -> (state, metrics) on the plan's mesh
    initial_state: (
        LearnerState  # fresh (or init_model_path's) params, an empty optimizer, update 0; host values
    )
    sample_policy: PolicyFn  # what actors act with
    greedy_policy: PolicyFn  # what test() and exports act with


def settings_loss(settings: Settings, network: ImpalaNetwork, distribution) -> LossFn:
    """The IMPALA loss `settings` ask for, over `network` and the action `distribution`."""
    return make_impala_loss(
        apply_fn=network.apply, distribution=distribution, hyper=LossHyperParams.of(settings)
    )


def build_agent(settings: Settings, spec: EnvSpec, plan: RunPlan, init_key: jax.Array) -> Agent:
    """The agent for `settings` on envs of `spec`, its learner step over `plan.mesh`."""
    network_args = {
        "action_size": spec.action_size,
        "distribution": spec.distribution,
        **{field: getattr(settings, field) for field in NETWORK_FIELDS},
        "num_tasks": len(settings.task_ids),
    }
    if not spec.is_discrete:
        network_args["action_bounds"] = tuple(
            tuple(map(float, b)) for b in (spec.action_low, spec.action_high)
        )
    network = ImpalaNetwork(**network_args)
    bounds = (None, None) if spec.is_discrete else (spec.action_low, spec.action_high)
    distribution = action_distribution(spec.distribution, settings.action_squash, *bounds)
    # The schedule counts optimizer steps: num_epochs * num_minibatches of them per update.
    optimizer_steps = settings.num_epochs * settings.num_minibatches
    rate = LearningRate(
        settings.lr,
        optimizer_steps * math.ceil(settings.lr_warmup_steps / settings.steps_per_update),
        optimizer_steps * settings.num_updates,
    )
    optimizer = functools.partial(
        make_optimizer, eps=settings.eps, alpha=settings.alpha, max_grad_norm=settings.max_grad_norm
    )
    loss_fn = settings_loss(settings, network, distribution)
    update_fns = make_update_fns(
        loss_fn=loss_fn,
        optimizer=optimizer,
        axis_name=BATCH_AXIS,
        num_chunks=plan.learner_chunks,
        chunks_per_call=plan.learner_chunks_per_call,
        num_minibatches=settings.num_minibatches,
        popart_rule=popart.PopArtRule(
            settings.popart_step_size, settings.popart_std_floor, settings.reward_scale
        )
        if settings.popart
        else None,
    )
    params, value_stats = initial_params(settings, network, network_args, spec, init_key)

    def fresh_state(params, value_stats):  # one jitted program, not one per optimizer slot
        return LearnerState(params, optimizer(rate).init(params), jnp.zeros((), jnp.int32), value_stats)

    return Agent(
        network=network,
        network_args=network_args,
        update=DataParallelUpdate(update_fns, plan.mesh, rate, settings.num_epochs),
        initial_state=jit_quick_compile(fresh_state)(params, value_stats),
        sample_policy=make_policy_fn(network, distribution, greedy=False),
        greedy_policy=make_policy_fn(network, distribution, greedy=True),
    )


def initial_params(
    settings: Settings, network: ImpalaNetwork, network_args: dict[str, Any], spec: EnvSpec, key: jax.Array
) -> tuple[Params, popart.PopArtStats | None]:
    """Fresh params, or those of the export at `init_model_path` (checked against the envs and network);
    and the PopArt statistics with `popart` (the export's, or fresh ones). An export's value head trained
    with PopArt is rescaled to output plain values when this run has no PopArt."""
    path = settings.init_model_path
    num_tasks = network_args["num_tasks"]
    fresh_stats = popart.initial_stats(num_tasks) if settings.popart else None
    if not path:
        return init_params(network, spec, key), fresh_stats
    exported, exported_spec, params, metadata = read_export(path)
    exported_stats = stats_from_json(metadata.get("value_stats"))
    check_spec(exported_spec, spec, f"init_model_path={path!r}")
    differences = [
        f"{field}: export {getattr(exported, field)!r}, config {value!r}"
        for field, value in network_args.items()
        if field not in INIT_ONLY_FIELDS and getattr(exported, field) != value
    ]
    if differences:
        raise ValueError(f"init_model_path={path!r} holds a different network: " + "; ".join(differences))
    hint = ""
    if not settings.lr_warmup_steps:
        hint = (
            "; the optimizer starts empty: RMSProp's first steps are large, set lr_warmup_steps (e.g. 100 "
            "updates' worth of env steps) to keep the loaded policy's level"
        )
    print(f"starting from the params in {path}{hint}", flush=True)
    if exported_stats is None:
        return params, fresh_stats
    if settings.popart:
        return params, exported_stats
    return rescale_value_head(params, exported_stats, popart.initial_stats(num_tasks)), None
