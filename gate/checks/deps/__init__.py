from gate.checks.deps.check import DepsCheck

__all__ = ["DepsCheck"]
