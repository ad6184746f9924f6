"""siyu: an agent-based simulator of private-domain (私域) operations for paid-knowledge brands."""

__version__ = "0.1.0"
