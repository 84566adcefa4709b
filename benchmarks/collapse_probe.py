"""What happens in a policy's first updates: entropy, the policy torso's feature norm, the logits' range, the
values, and the gradient norm each loss term sends into the policy's torso (the `encoder` params).

    python benchmarks/collapse_probe.py --tasks Acrobot-v1 CartPole-v1 --value-networks shared separate \
        --updates 30 --every 5 --out benchmarks/results/collapse_probe.json

Acting and learning take turns (each update learns from rollouts of the params it just published, no
asynchrony), so a run is a function of its seed. The preset is `--config` with `env_id` and `value_network`
set per run (and `--set` overrides for all). Prints one table per run and writes JSON.
"""

from __future__ import annotations

import shutil
import tempfile

import jax
import jax.numpy as jnp
import optax
from common import benchmark_parser, concatenate_envs, parse_overrides, print_table, write_json

from hsuanwu_jax import DistributedTrainer, load_config
from hsuanwu_jax.agent.builder import settings_loss
from hsuanwu_jax.core.distributions import get_distribution

LOSS_TERMS = ("pg_loss", "baseline_loss", "entropy")
COLUMNS = [
    ("update", "update", "d"),
    ("entropy", "entropy", ".3f"),
    ("feature norm", "feature_norm", ".2f"),
    ("logit range", "logit_range", ".2f"),
    ("value mean", "value_mean", ".2f"),
    *((f"torso grad {term.split('_')[0]}", f"torso_grad_{term}", ".3g") for term in LOSS_TERMS),
]


def make_probe(trainer):
    """A jitted `probe(params, batch, value_stats) -> dict` of the measurements above."""
    settings, network = trainer.settings, trainer.network
    distribution = get_distribution(trainer.spec.distribution)
    loss_fn = settings_loss(settings, network, distribution)
    weights = {"pg_loss": 1.0, "baseline_loss": settings.baseline_coef, "entropy": -settings.ent_coef}

    def probe(params, batch, value_stats):
        (outputs, _), captured = network.apply(
            params,
            batch.obs,
            batch.prev_action,
            batch.reward,
            batch.first,
            batch.initial_core_state,
            capture_intermediates=True,
        )
        features = captured["intermediates"]["encoder"]["__call__"][0]
        result = {
            "entropy": jnp.mean(distribution.entropy(outputs.policy)),
            "feature_norm": jnp.mean(jnp.linalg.norm(features, axis=-1)),
            "value_mean": jnp.mean(outputs.value),
        }
        if trainer.spec.is_discrete:
            result["logit_range"] = jnp.mean(jnp.max(outputs.policy, -1) - jnp.min(outputs.policy, -1))
        for term in LOSS_TERMS:
            grads = jax.grad(lambda p, term=term: loss_fn(p, batch, value_stats)[1].metrics[term])(params)
            result[f"torso_grad_{term}"] = abs(weights[term]) * optax.tree.norm(grads["params"]["encoder"])
        return result

    return jax.jit(probe)


def probe_run(args, task: str, value_network: str, overrides: dict) -> list[dict]:
    cfg = load_config(args.config)
    workdir = tempfile.mkdtemp(prefix="collapse_probe_")
    cfg.update(overrides, env_id=task, value_network=value_network, actor_mode="python", progress="none")
    cfg.update(checkpoint_every=0, workdir=workdir)
    trainer = DistributedTrainer(cfg)
    rows = []
    try:
        probe = make_probe(trainer)
        for update in range(args.updates + 1):
            parts = [trainer.act(index) for index in range(trainer.settings.num_actors)]
            batch = concatenate_envs(parts)
            if update % args.every == 0:
                measured = probe(trainer.state.params, batch, trainer.state.value_stats)
                rows.append({"update": update, **{k: float(v) for k, v in measured.items()}})
            trainer.update(batch)
    finally:
        trainer.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return rows


def main() -> None:
    parser = benchmark_parser(__doc__, "benchmarks/results/collapse_probe.json")
    parser.add_argument("--tasks", nargs="+", default=["Acrobot-v1", "CartPole-v1"])
    parser.add_argument("--value-networks", nargs="+", default=["shared", "separate"])
    parser.add_argument("--updates", type=int, default=30)
    parser.add_argument("--every", type=int, default=5)
    args = parser.parse_args()
    overrides = parse_overrides(args.set)
    runs = []
    for task in args.tasks:
        for value_network in args.value_networks:
            rows = probe_run(args, task, value_network, overrides)
            print(f"\n{task}, value_network={value_network}")
            print_table(rows, COLUMNS)
            runs.append({"task": task, "value_network": value_network, "rows": rows})
    write_json(args.out, {"config": args.config, "overrides": overrides, "runs": runs})


if __name__ == "__main__":
    main()
