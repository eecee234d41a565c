"""Reading files a stranger may have planted: only regular files, never more than a cap.

A FIFO blocks `open()` until a writer appears and a device such as /dev/zero never ends, so
the type is checked before opening, opened without blocking, and checked again on the open
descriptor (the path may be swapped in between).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


class UnreadableFile(OSError):
    """Not a regular file, or larger than the caller's cap: the reason is in words."""

    def __init__(self, path: Path | str, reason: str, *, oversized: bool = False) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason
        self.oversized = oversized

    def __str__(self) -> str:
        return self.reason


def kind_of(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _check(path: Path | str, mode: int, size: int, limit: int) -> None:
    kind = kind_of(mode)
    if kind is not None:
        raise UnreadableFile(path, f"this is {kind}, not a regular file; it is not opened")
    if size > limit:
        raise UnreadableFile(path, f"file is {size} bytes; it is limited to {limit}", oversized=True)


def check_regular(path: Path | str, limit: int) -> None:
    """Raise UnreadableFile unless `path` is a regular file of at most `limit` bytes (not opened)."""
    info = os.stat(path)
    _check(path, info.st_mode, info.st_size, limit)


def read_regular(path: Path | str, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; UnreadableFile otherwise."""
    check_regular(path, limit)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    try:
        info = os.fstat(descriptor)
        _check(path, info.st_mode, info.st_size, limit)
        chunks: list[bytes] = []
        size = 0
        # The file may grow after fstat; never read past the cap.
        while size <= limit:
            chunk = os.read(descriptor, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(descriptor)
    if size > limit:
        raise UnreadableFile(path, f"file grew past the limit of {limit} bytes while it was read")
    return b"".join(chunks)
