"""Hsuanwu's engine: `HsuanwuEngine`, which picked a trainer by `cfgs.agent.name`."""

from __future__ import annotations

from hsuanwu_jax.run.trainer import DistributedTrainer


class HsuanwuEngine:
    """`HsuanwuEngine(cfgs, train_env, test_env).invoke()` trains, as in Hsuanwu; IMPALA is the one agent
    (another `agent.name` is refused when the config is translated)."""

    def __init__(self, cfgs, train_env=None, test_env=None):
        self.trainer = DistributedTrainer(cfgs, train_env=train_env, test_env=test_env)

    def invoke(self):
        """Trains to `num_train_steps` (writing the model export at the end); returns the last metrics."""
        return self.trainer.train()
