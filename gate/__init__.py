"""launch-gate: decides in CI whether a web or mobile backend is safe to launch."""

__version__ = "0.1.0"
