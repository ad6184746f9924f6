"""Experiments: arms, replications and sweeps planned, executed and analysed as one unit."""
