from gate.checks.env.check import EnvCheck, load_rules

__all__ = ["EnvCheck", "load_rules"]
