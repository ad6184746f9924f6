"""One run end to end: a policy from a config, simulation, manifest and the run folder; and the
jobs built from single runs (fact replay, churn-model training, a twin's sample log, the
strategy conformance check)."""
