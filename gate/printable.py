"""Untrusted text made safe to print: no control character reaches a terminal or a log raw.

File names, gate.yml strings and server answers may hold terminal escapes or line breaks; a
raw line break would let them start a line of their own (a forged report line, or a workflow
command the GitHub runner obeys). Each is shown as a visible `\\xNN` escape instead.
"""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: object) -> str:
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", str(text))
