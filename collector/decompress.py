"""Undo ``Content-Encoding`` without ever producing more than the limit.

Browsers and SDKs may compress what they send (gzip, deflate; br and zstd where the
sender supports them). A small body can inflate enormously (a "decompression bomb"), so
each decoder is driven with an output bound: past the limit it stops and the request is
refused with 413, after producing at most ``limit + 1`` bytes.
"""

from __future__ import annotations

import io
import zlib

import brotli
import zstandard


class TooLarge(Exception):
    """The decompressed body is over the limit (413)."""


class BadEncoding(Exception):
    """The body is not valid data of its declared encoding (400)."""


class UnknownEncoding(Exception):
    """A ``Content-Encoding`` this collector does not decode (415)."""


ENCODINGS = ("gzip", "deflate", "br", "zstd", "identity")


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """``body`` decoded per a ``Content-Encoding`` value (one coding; ``identity`` or empty passes through)."""
    coding = encoding.strip().lower()
    if coding in {"", "identity"}:
        out = body
    elif coding in {"gzip", "x-gzip"}:
        out = _zlib(body, zlib.MAX_WBITS | 16, limit)
    elif coding == "deflate":
        # RFC 9110 says zlib-wrapped; some senders send raw deflate. Accept both.
        try:
            out = _zlib(body, zlib.MAX_WBITS, limit)
        except BadEncoding:
            out = _zlib(body, -zlib.MAX_WBITS, limit)
    elif coding == "br":
        out = _brotli(body, limit)
    elif coding == "zstd":
        out = _zstd(body, limit)
    else:
        raise UnknownEncoding(f"unsupported Content-Encoding {coding[:40]!r} (use gzip, deflate, br or zstd)")
    if len(out) > limit:
        raise TooLarge(f"decompressed body is larger than {limit} bytes")
    return out


def _zlib(body: bytes, wbits: int, limit: int) -> bytes:
    decoder = zlib.decompressobj(wbits)
    try:
        out = decoder.decompress(body, limit + 1)
    except zlib.error as e:
        raise BadEncoding(f"body is not valid {'gzip' if wbits > 15 else 'deflate'} data: {e}") from None
    if len(out) <= limit and not decoder.eof:
        raise BadEncoding("compressed body is truncated")
    return out


def _brotli(body: bytes, limit: int) -> bytes:
    decoder = brotli.Decompressor()
    try:
        out: bytes = decoder.process(body, output_buffer_limit=limit + 1)
    except brotli.error as e:
        raise BadEncoding(f"body is not valid br data: {e}") from None
    if len(out) <= limit and not decoder.is_finished():
        raise BadEncoding("compressed body is truncated")
    return out


def _zstd(body: bytes, limit: int) -> bytes:
    try:
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body)) as reader:
            out: bytes = reader.read(limit + 1)
            return out
    except zstandard.ZstdError as e:
        raise BadEncoding(f"body is not valid zstd data: {e}") from None


def decompress_prefix(body: bytes, encoding: str, limit: int) -> bytes:
    """At most the first ``limit`` bytes of ``body`` decoded: enough to read a header line before the rest.

    Raises ``UnknownEncoding`` or ``BadEncoding`` as ``decompress`` does; never ``TooLarge``.
    """
    coding = encoding.strip().lower()
    if coding in {"", "identity"}:
        return body[:limit]
    try:
        if coding in {"gzip", "x-gzip"}:
            return zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(body, limit)
        if coding == "deflate":
            try:
                return zlib.decompressobj(zlib.MAX_WBITS).decompress(body, limit)
            except zlib.error:
                return zlib.decompressobj(-zlib.MAX_WBITS).decompress(body, limit)
        if coding == "br":
            out: bytes = brotli.Decompressor().process(body, output_buffer_limit=limit)
            return out[:limit]
        if coding == "zstd":
            with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body)) as reader:
                prefix: bytes = reader.read(limit)
                return prefix
    except (zlib.error, brotli.error, zstandard.ZstdError) as e:
        raise BadEncoding(f"body is not valid {coding} data: {e}") from None
    raise UnknownEncoding(f"unsupported Content-Encoding {coding[:40]!r} (use gzip, deflate, br or zstd)")
