from gate.checks.restore.check import RestoreCheck

__all__ = ["RestoreCheck"]
