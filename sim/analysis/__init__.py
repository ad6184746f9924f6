"""Analysis of run and experiment results: outcomes, survival, statistics, uplift."""
