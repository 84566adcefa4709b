"""A Hsuanwu IMPALA script as Hsuanwu's README writes one, with `hsuanwu` swapped for `hsuanwu_jax` in the
imports and nothing else changed: Pong from `PongNoFrameskip-v4`, config in config.yaml (Hsuanwu's layout).

    python benchmarks/hsuanwu_pong/train.py [+workdir=runs/hsuanwu_pong] [num_train_steps=...]
"""

import hydra

from hsuanwu_jax.common.engine import DistributedTrainer
from hsuanwu_jax.env import make_atari_env


@hydra.main(version_base=None, config_path="./", config_name="config")
def main(cfgs):
    train_env = make_atari_env(
        env_id="PongNoFrameskip-v4",
        num_envs=16,
        seed=cfgs.seed,
        frame_stack=4,
        device=cfgs.device,
        distributed=True,
    )
    test_env = make_atari_env(
        env_id="PongNoFrameskip-v4",
        num_envs=1,
        seed=cfgs.seed + 100,
        frame_stack=4,
        device=cfgs.device,
        distributed=True,
    )
    trainer = DistributedTrainer(cfgs=cfgs, train_env=train_env, test_env=test_env)
    trainer.train()
    print("final test:", trainer.test())
    trainer.save()


if __name__ == "__main__":
    main()
