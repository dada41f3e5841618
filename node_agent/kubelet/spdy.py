"""SPDY/3.1 framing, as much as Kubernetes' port-forward streams need (pure: bytes in, frames out).

kubectl (1.30+) port-forwards over a WebSocket whose subprotocol is ``SPDY/3.1+portforward.k8s.io``: the binary
messages carry a plain SPDY/3.1 byte stream (no channel byte). Frames (draft-mbelshe-httpbis-spdy-00):

- control: ``1 | version(15) = 3 | type(16) | flags(8) | length(24) | payload``; types SYN_STREAM 1, SYN_REPLY 2,
  RST_STREAM 3, SETTINGS 4, PING 6, GOAWAY 7, HEADERS 8, WINDOW_UPDATE 9;
- data: ``0 | stream id(31) | flags(8) | length(24) | payload``; flag FIN 0x01 ends the sender's half.

Header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are ``count(32)`` then ``len(32) name len(32) value`` pairs,
compressed with one zlib stream per direction and connection, primed with the protocol's fixed dictionary and
flushed (Z_SYNC_FLUSH) at the end of every block. ``FrameReader.feed`` buffers partial frames.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
RST_PROTOCOL_ERROR, RST_INVALID_STREAM, RST_REFUSED_STREAM, RST_CANCEL, RST_INTERNAL_ERROR = 1, 2, 3, 5, 6

_WORDS = ["options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding",
          "accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection",
          "content-base", "content-encoding", "content-language", "content-length", "content-location", "content-md5",
          "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host", "if-match",
          "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified", "location",
          "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer", "retry-after",
          "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via", "warning",
          "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url", "public",
          "set-cookie", "keep-alive", "origin"]
_TAIL = ("100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
         "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
         "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
         "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
         "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
         "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")
# The SPDY/3 header compression dictionary (the protocol's constant): length-prefixed words, then a plain tail.
DICTIONARY = b"".join(struct.pack(">I", len(w)) + w.encode() for w in _WORDS) + _TAIL.encode()


class SpdyError(Exception):
    """The peer broke the framing; the session ends with GOAWAY."""


@dataclass(frozen=True)
class Frame:
    control: bool
    type: int  # control type; 0 for data
    flags: int
    stream_id: int  # 0 when the control frame has none (SETTINGS, PING, GOAWAY)
    data: bytes = b""  # data payload, or the raw control payload after the stream id
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


class HeaderCodec:
    """One connection's header compression state (one inflater for what we read, one deflater for what we send)."""

    def __init__(self) -> None:
        self._in = zlib.decompressobj(zdict=DICTIONARY)
        self._out = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY,
                                     zdict=DICTIONARY)

    def decode(self, block: bytes) -> dict[str, str]:
        try:
            raw = self._in.decompress(block)
        except zlib.error as e:
            raise SpdyError(f"header block: {e}") from None
        try:
            (n,), pos, out = struct.unpack_from(">I", raw), 4, {}
            for _ in range(n):
                (ln,) = struct.unpack_from(">I", raw, pos)
                name = raw[pos + 4:pos + 4 + ln].decode()
                pos += 4 + ln
                (lv,) = struct.unpack_from(">I", raw, pos)
                out[name.lower()] = raw[pos + 4:pos + 4 + lv].decode()
                pos += 4 + lv
        except (struct.error, UnicodeDecodeError) as e:
            raise SpdyError(f"header block: {e}") from None
        return out

    def encode(self, headers: dict[str, str]) -> bytes:
        raw = struct.pack(">I", len(headers))
        for k, v in headers.items():
            raw += struct.pack(">I", len(k)) + k.lower().encode() + struct.pack(">I", len(v.encode())) + v.encode()
        return self._out.compress(raw) + self._out.flush(zlib.Z_SYNC_FLUSH)


class FrameReader:
    """Splits a byte stream into frames; header blocks are decoded in arrival order (the zlib state is shared)."""

    def __init__(self, codec: HeaderCodec, max_frame: int = 1 << 24) -> None:
        self.codec = codec
        self.max_frame = max_frame
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        while len(self._buf) >= 8:
            length = int.from_bytes(self._buf[5:8], "big")
            if length > self.max_frame:
                raise SpdyError(f"frame of {length} bytes")
            if len(self._buf) < 8 + length:
                break
            head, payload = bytes(self._buf[:8]), bytes(self._buf[8:8 + length])
            del self._buf[:8 + length]
            frames.append(self._frame(head, payload))
        return frames

    def _frame(self, head: bytes, payload: bytes) -> Frame:
        flags = head[4]
        if not head[0] & 0x80:
            return Frame(False, 0, flags, int.from_bytes(head[0:4], "big") & 0x7FFFFFFF, payload)
        version = int.from_bytes(head[0:2], "big") & 0x7FFF
        typ = int.from_bytes(head[2:4], "big")
        if version != 3:
            raise SpdyError(f"unsupported SPDY version {version}")
        if typ in (SYN_STREAM, SYN_REPLY, RST_STREAM, HEADERS, WINDOW_UPDATE):
            if len(payload) < 4:
                raise SpdyError(f"control frame {typ} too short")
            sid = int.from_bytes(payload[0:4], "big") & 0x7FFFFFFF
            if typ == SYN_STREAM:
                if len(payload) < 10:
                    raise SpdyError("SYN_STREAM too short")
                return Frame(True, typ, flags, sid, payload[4:10], self.codec.decode(payload[10:]))
            if typ in (SYN_REPLY, HEADERS):
                return Frame(True, typ, flags, sid, b"", self.codec.decode(payload[4:]))
            return Frame(True, typ, flags, sid, payload[4:])
        return Frame(True, typ, flags, 0, payload)


def control(typ: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HHI", 0x8003, typ, (flags << 24) | len(payload)) + payload


def data(stream_id: int, payload: bytes, fin: bool = False) -> bytes:
    return struct.pack(">II", stream_id & 0x7FFFFFFF, ((FLAG_FIN if fin else 0) << 24) | len(payload)) + payload


def syn_reply(codec: HeaderCodec, stream_id: int, headers: dict[str, str] | None = None, fin: bool = False) -> bytes:
    return control(SYN_REPLY, FLAG_FIN if fin else 0, struct.pack(">I", stream_id) + codec.encode(headers or {}))


def rst_stream(stream_id: int, status: int) -> bytes:
    return control(RST_STREAM, 0, struct.pack(">II", stream_id, status))


def ping(ping_id: int) -> bytes:
    return control(PING, 0, struct.pack(">I", ping_id))


def goaway(last_stream_id: int, status: int = 0) -> bytes:
    return control(GOAWAY, 0, struct.pack(">II", last_stream_id, status))
