from gate.checks.secrets.check import SecretsCheck

__all__ = ["SecretsCheck"]
