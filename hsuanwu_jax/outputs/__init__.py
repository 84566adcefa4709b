"""What a run writes and shows: metrics records and their sinks, progress, model exports and the policy
loaded from them, videos, plots."""
