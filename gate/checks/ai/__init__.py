from gate.checks.ai.check import AiCheck

__all__ = ["AiCheck"]
