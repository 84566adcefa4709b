"""IMPALA on EnvPool's Procgen games with the generalisation protocol of Cobbe et al. (2020), "Leveraging
Procedural Generation to Benchmark Reinforcement Learning": easy mode, 200 training levels (levels 0-199),
tests on the full level distribution (levels never trained on, but with negligible chance) and on the training
levels (`test_train_envs`): the gap between the two is what Procgen measures. Returns are reported for the
sampled policy (`test_policy="sampled"`), as Procgen's published curves are the stochastic policy's episodes.

Set only `env_id` (`<Game>Easy-v0`: Bigfish, Bossfight, Caveflyer, Chaser, Climber, Coinrun, Dodgeball,
Fruitbot, Heist, Jumper, Leaper, Maze, Miner, Ninja, Plunder, Starpilot). Needs the system Qt 5 runtime
(`apt-get install -y libqt5gui5`). The learner is the Atari preset's (Nature CNN, unroll 10, 80 samples per
update, lr 6e-4), with PopArt for the games' different return scales; 2M env steps.

Measured (one seed, 2M env steps, sampled play on unseen levels; random play; PPO at 2M from OpenAI's
train-procgen curves; docs/results/procgen.md): CoinrunEasy-v0 6.5 (random 1.5; PPO 7.8), StarpilotEasy-v0 3.5
(1.2; 10.0), FruitbotEasy-v0 -1.6 (-2.5; 15.3), BigfishEasy-v0 0.8 (0.6; 2.0). It learns Coinrun only: Starpilot's
and Fruitbot's gradients were clipped on most updates and Bigfish's policy stayed uniform. Not a finished preset.
"""

from hsuanwu_jax.config import default_config


def get_config():
    cfg = default_config()
    cfg.env_id = "CoinrunEasy-v0"
    cfg.env_kwargs = dict(num_levels=200, start_level=0)  # the training levels
    cfg.test_env_kwargs = dict(num_levels=0)  # every level: those never trained on
    cfg.test_train_envs = True  # tests also play the training levels
    cfg.test_policy = "sampled"
    cfg.encoder = "nature_cnn"
    cfg.weight_init = "orthogonal"
    cfg.popart = True  # the games' returns range from 10 (Coinrun) to 40 and more (Bigfish, Starpilot)
    cfg.num_envs = 8
    cfg.num_steps = 10
    cfg.batch_size = 8
    cfg.lr = 6e-4
    cfg.num_train_steps = 2_000_000  # what a 2-core machine runs in ~20 minutes; Cobbe et al. train 25M
    cfg.num_test_episodes = 20
    cfg.test_max_episode_steps = 1_000  # Procgen's own episode cap
    cfg.test_every = 1_000_000
    cfg.log_every = 50_000
    cfg.checkpoint_every = 500_000
    return cfg
