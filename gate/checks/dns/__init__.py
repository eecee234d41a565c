from gate.checks.dns.check import DnsCheck

__all__ = ["DnsCheck"]
