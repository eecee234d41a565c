"""Fault injection: the real gate against real misbehaving peers on loopback."""
