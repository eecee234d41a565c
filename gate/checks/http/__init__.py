from gate.checks.http.check import HttpCheck

__all__ = ["HttpCheck"]
