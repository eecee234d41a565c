from gate.checks.deps.check import DepsCheck, upgrade_command

__all__ = ["DepsCheck", "upgrade_command"]
