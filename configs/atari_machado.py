"""Atari with the Machado et al. (2018) evaluation protocol ("Revisiting the Arcade Learning Environment").

Sticky actions with probability 0.25, the full 18-action set, no loss-of-life signal, no no-op
starts (in EnvPool that is noop_max=1; noop_max=0 crashes EnvPool 1.2.5), episodes capped at
108,000 frames (27,000 agent steps at frame skip 4); rewards are clipped
for learning only. Scores from this protocol are not comparable with the IMPALA paper's protocol
(configs/impala_atari.py): report them with the protocol's name. Network and learner settings are
those of configs/impala_atari.py.
"""

import pathlib

from hsuanwu_jax.config import load_config


def get_config():
    cfg = load_config(str(pathlib.Path(__file__).with_name("impala_atari.py")))
    protocol = dict(
        repeat_action_probability=0.25,
        full_action_space=True,
        episodic_life=False,
        noop_max=1,  # no no-op starts
        max_episode_steps=27_000,
    )
    cfg.env_kwargs = dict(protocol, reward_clip=True)
    cfg.test_env_kwargs = dict(protocol, reward_clip=False)
    return cfg
