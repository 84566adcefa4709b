"""Acting: the actors (a Python loop, or one jitted scan through EnvPool's XLA interface), the actor <->
learner plumbing (rollout buffers, the bounded queue, batches, worker threads), episode statistics and greedy
evaluation."""
