"""The engine: the calendar that runs a world under a policy, and the tables it records."""
