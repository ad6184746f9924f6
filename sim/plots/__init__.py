"""Figures of a run's tables (stage flow, retention, LTV, survival, group health)."""
