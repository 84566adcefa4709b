"""Hsuanwu's `hsuanwu.common.engine` import path: `DistributedTrainer` (the same object as
`hsuanwu_jax.DistributedTrainer`) and `HsuanwuEngine`, which picked a trainer by `cfgs.agent.name`."""

from hsuanwu_jax.trainer import DistributedTrainer


class HsuanwuEngine:
    """`HsuanwuEngine(cfgs, train_env, test_env).invoke()` trains, as in Hsuanwu; IMPALA is the one agent
    (another `agent.name` is refused when the config is translated)."""

    def __init__(self, cfgs, train_env=None, test_env=None):
        self.trainer = DistributedTrainer(cfgs, train_env=train_env, test_env=test_env)

    def invoke(self):
        """Trains to `num_train_steps` (writing the model export at the end); returns the last metrics."""
        return self.trainer.train()


__all__ = ["DistributedTrainer", "HsuanwuEngine"]
