from gate.checks.env.check import EnvCheck

__all__ = ["EnvCheck"]
