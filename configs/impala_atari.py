"""IMPALA on Atari through EnvPool, with the IMPALA paper's protocol (hsuanwu_jax/config/defaults.py lists every field).

Protocol (Espeholt et al. 2018, as EnvPool implements it): 84x84 grey frames, 4-frame stacks,
frame skip 4, up to 30 no-op starts, no sticky actions, the minimal action set, episodes capped at
108,000 frames; for learning, a life loss ends an episode (episodic_life) and rewards are clipped
to [-1, 1]; test() plays whole games with unclipped rewards, so reported returns are game scores
under this protocol. configs/atari_machado.py is the Machado et al. (2018) protocol instead.

test() plays the sampled policy (`test_policy="sampled"`; `trainer.test(greedy=True)` plays argmax): the
IMPALA and PPO papers report the stochastic policy's training episodes, and RL Baselines3 Zoo evaluates Atari
agents stochastically ("Deterministic by default except for atari games", rl_zoo3/enjoy.py). An argmax Atari
policy can repeat one action, or never press FIRE after a lost life, and score below random play: Boxing-v5 at
2M env steps greedy -38.6, sampled 1.3, random 0.4 (benchmarks/RESULTS.md, "The Atari preset over six games").

Learning settings: many small updates (unroll 10, 8 env rollouts = 80 samples per update, lr 6e-4,
orthogonal init) rather than the seed's (configs/seed_defaults.py): why, in benchmarks/RESULTS.md, "Pong-v5".

Measured with it, one seed each, 2M env steps, 10 whole games at 1M / 2M, sampled (greedy in brackets)
(benchmarks/RESULTS.md, "The Atari preset over six games"): Breakout-v5 35.1 / 81.4 (4.0 / 131.2; random 1.8),
Pong-v5 -17.9 / -9.0 (-21.0 / -10.1; random -20.1; greedy 19.0 at 2.5M in an earlier run), Qbert-v5 1,157.5 /
1,047.5 (767.5 / 727.5; random 192.5), Seaquest-v5 594.0 / 788.0 (878.0 / 948.0; random 50.0),
SpaceInvaders-v5 180.0 / 386.5 (296.5 / 290.0; random 151.5).
Boxing-v5 is not learned in 2M: sampled 4.4 / 1.3 (greedy -35.4 / -38.6), random 0.4.
"""

from hsuanwu_jax.config import default_config


def get_config():
    cfg = default_config()
    cfg.env_id = "Breakout-v5"
    protocol = dict(
        noop_max=30, repeat_action_probability=0.0, full_action_space=False, max_episode_steps=27_000
    )
    cfg.env_kwargs = dict(protocol, episodic_life=True, reward_clip=True)
    cfg.test_env_kwargs = dict(protocol, episodic_life=False, reward_clip=False)
    cfg.encoder = "nature_cnn"  # "resnet" is the paper's deep network: about 4x slower on a CPU
    cfg.weight_init = "orthogonal"
    cfg.num_envs = 8
    cfg.num_steps = 10
    cfg.batch_size = 8  # one actor's rollout per update
    cfg.lr = 6e-4
    cfg.num_train_steps = 50_000_000
    cfg.num_test_episodes = 10
    cfg.test_policy = "sampled"  # see the docstring
    cfg.log_every = 10_240
    return cfg
