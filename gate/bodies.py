"""HTTP bodies decoded under a cap on what comes out, whatever the server sends in.

HTTP libraries decode `Content-Encoding` a whole network chunk at a time: a 64 KB gzip chunk
can become 64 MB, and `Content-Encoding: gzip, gzip` lets about a kilobyte on the wire become
gigabytes before any caller-side byte count sees it. Here every layer is asked for at most the
room left under the cap (zlib's `max_length`, brotli's `output_buffer_limit`), the number of
layers is capped, and each layer's output counts against the same cap, so memory stays within
a few times the cap for any input.

Callers read the raw (still encoded) body and feed it here: `BoundedBody(encoding, cap)`, then
`feed(chunk)` for each chunk and `finish()`. `over` says the decoded body passed the cap.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import httpx

# One encoding is what servers send; two appear behind some proxies. More is an attack.
MAX_LAYERS = 2
# Unknown codings pass through as bytes, as HTTP clients do; the cap still holds.
_IDENTITY = {"", "identity"}


class DecodingError(ValueError):
    """The body does not decode with the encodings its headers name, or names too many."""


class _Layer(Protocol):
    def decode(self, data: bytes, room: int) -> bytes: ...

    @property
    def pending(self) -> bool: ...


class _Zlib:
    """gzip (wbits 16+), zlib-wrapped deflate or, when the first byte says so, raw deflate."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._inner: zlib._Decompress | None = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzip else None
        self._tail = b""

    @property
    def pending(self) -> bool:
        return bool(self._tail)

    def decode(self, data: bytes, room: int) -> bytes:
        data = self._tail + data
        if not data:
            return b""
        if self._inner is None:
            # "deflate" is zlib-wrapped by the RFC, raw by many servers: the first byte tells.
            self._inner = zlib.decompressobj(zlib.MAX_WBITS if data[0] & 0x0F == 8 else -zlib.MAX_WBITS)
        if self._inner.eof:
            # Bytes after the end of the stream are not part of the body (and would pile up
            # in `unused_data`); a second gzip member starts a new stream.
            if not (self._gzip and data[:2] == b"\x1f\x8b"):
                self._tail = b""
                return b""
            self._inner = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = self._inner.decompress(data, room)
        except zlib.error as error:
            raise DecodingError(f"{'gzip' if self._gzip else 'deflate'} data is corrupt ({error})") from None
        self._tail = self._inner.unconsumed_tail or self._inner.unused_data
        return out


class _Brotli:
    def __init__(self) -> None:
        import brotli  # type: ignore[import-untyped]

        self._inner = brotli.Decompressor()
        self._error = brotli.error
        self._held = b""

    @property
    def pending(self) -> bool:
        return bool(self._held) or not self._inner.can_accept_more_data()

    def decode(self, data: bytes, room: int) -> bytes:
        try:
            if not self._inner.can_accept_more_data():
                # It stopped at the room it was given last time: drain that before new input.
                self._held += data
                return self._inner.process(b"", output_buffer_limit=room)  # type: ignore[no-any-return]
            data, self._held = self._held + data, b""
            if self._inner.is_finished():
                return b""
            return self._inner.process(data, output_buffer_limit=room)  # type: ignore[no-any-return]
        except self._error as error:
            raise DecodingError(f"brotli data is corrupt ({error})") from None


def encodings(header: str | None) -> list[str]:
    """The codings of a Content-Encoding header, in the order they were applied."""
    return [part.strip().lower() for part in (header or "").split(",") if part.strip().lower() not in _IDENTITY]


def _layer(coding: str) -> _Layer | None:
    if coding in ("gzip", "x-gzip"):
        return _Zlib(gzip=True)
    if coding == "deflate":
        return _Zlib(gzip=False)
    if coding == "br":
        return _Brotli()
    return None


class BoundedBody:
    """Decodes a body's layers in reverse order of application, never past `cap` bytes of output."""

    def __init__(self, content_encoding: str | None, cap: int) -> None:
        codings = encodings(content_encoding)
        if len(codings) > MAX_LAYERS:
            raise DecodingError(
                f"Content-Encoding names {len(codings)} layers ({', '.join(codings)}); at most {MAX_LAYERS} are decoded"
            )
        layers = [_layer(coding) for coding in reversed(codings)]
        self._layers = [layer for layer in layers if layer is not None]
        # What each layer has produced: an inner layer's input counts too, so a layer that
        # swallows without producing (trailing junk after its stream) cannot make the outer
        # ones decompress for ever.
        self._produced = [0] * len(self._layers)
        self.cap = cap
        self.size = 0
        self.raw = 0
        self.over = False
        self._chunks: list[bytes] = []

    def _step(self, data: bytes) -> None:
        for index, layer in enumerate(self._layers):
            # One byte past the cap is enough to know the body is over it.
            room = self.cap + 1 - self._produced[index]
            if room <= 0:
                self.over = True
                return
            data = layer.decode(data, room)
            self._produced[index] += len(data)
        if len(data) > self.cap - self.size:
            self.over = True
            data = data[: self.cap - self.size]
        self.size += len(data)
        if data:
            self._chunks.append(data)

    def feed(self, raw: bytes) -> None:
        if self.over:
            return
        self._step(raw)
        # A layer stopped at its room keeps the rest; drain it while the cap allows.
        while not self.over and any(layer.pending for layer in self._layers):
            before = list(self._produced)
            self._step(b"")
            if self._produced == before:
                break
        # Compressed or not, a body whose wire bytes pass the cap by a margin is over it (junk
        # after the end of a stream decodes to nothing but must not be read for ever).
        self.raw += len(raw)
        if self.raw > self.cap + self.cap // 8 + 1024:
            self.over = True

    def finish(self) -> bytes:
        if not self.over:
            self.feed(b"")
        return b"".join(self._chunks)


def decode_all(content_encoding: str | None, chunks: Iterable[bytes], cap: int) -> tuple[bytes, bool]:
    """Every chunk decoded under the cap: the body (at most `cap` bytes) and whether it was over."""
    body = BoundedBody(content_encoding, cap)
    for chunk in chunks:
        body.feed(chunk)
        if body.over:
            break
    return body.finish(), body.over


def read_sync(response: httpx.Response, cap: int) -> tuple[bytes, bool]:
    """An httpx response streamed raw and decoded here: its body (at most `cap`) and whether it was over."""
    return decode_all(response.headers.get("content-encoding"), response.iter_raw(), cap)


async def read_async(response: httpx.Response, cap: int) -> tuple[bytes, bool]:
    """`read_sync` for an async httpx response."""
    body = BoundedBody(response.headers.get("content-encoding"), cap)
    async for chunk in response.aiter_raw():
        body.feed(chunk)
        if body.over:
            break
    return body.finish(), body.over
