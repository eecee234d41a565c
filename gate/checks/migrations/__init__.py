from gate.checks.migrations.check import MigrationsCheck

__all__ = ["MigrationsCheck"]
