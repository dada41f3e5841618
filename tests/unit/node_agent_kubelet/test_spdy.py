"""SPDY/3.1 framing for port-forward: frames split anywhere reassemble, header blocks round-trip through one
connection's shared zlib state, and malformed input is a SpdyError (never a crash)."""

from __future__ import annotations

import struct
import zlib

import pytest

from node_agent.kubelet import spdy

pytestmark = pytest.mark.unit


def _syn_stream(codec: spdy.HeaderCodec, sid: int, headers: dict[str, str]) -> bytes:
    return spdy.control(spdy.SYN_STREAM, 0, struct.pack(">IIBB", sid, 0, 0, 0) + codec.encode(headers))


def test_dictionary_is_the_protocols() -> None:
    assert len(spdy.DICTIONARY) == 1423
    assert spdy.DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert spdy.DICTIONARY.endswith(b",*,enq=0.")
    assert zlib.adler32(spdy.DICTIONARY) == 0xE3C6A7C2  # the DICTID kubectl's header blocks carry


def test_frames_reassemble_from_any_split_and_headers_round_trip() -> None:
    for size in (1, 2, 3, 7, 10_000):
        c = spdy.HeaderCodec()  # the client's side: its compressed stream depends on everything sent before
        s = (_syn_stream(c, 1, {"streamType": "error", "port": "80", "requestID": "0"})
             + _syn_stream(c, 3, {"streamType": "data", "port": "80", "requestID": "0"})
             + spdy.data(3, b"GET / HTTP/1.0\r\n\r\n") + spdy.data(3, b"", fin=True) + spdy.ping(1))
        reader = spdy.FrameReader(spdy.HeaderCodec())
        frames = []
        for i in range(0, len(s), size):
            frames += reader.feed(s[i:i + size])
        assert [(f.control, f.type, f.stream_id) for f in frames] == [
            (True, spdy.SYN_STREAM, 1), (True, spdy.SYN_STREAM, 3), (False, 0, 3), (False, 0, 3),
            (True, spdy.PING, 0)]
        assert frames[0].headers == {"streamtype": "error", "port": "80", "requestid": "0"}
        assert frames[1].headers["streamtype"] == "data"
        assert frames[2].data == b"GET / HTTP/1.0\r\n\r\n" and not frames[2].fin and frames[3].fin
        assert frames[4].data == struct.pack(">I", 1)


def test_replies_decode_with_the_peers_dictionary() -> None:
    ours = spdy.HeaderCodec()
    peer = spdy.FrameReader(spdy.HeaderCodec())
    frames = peer.feed(spdy.syn_reply(ours, 1) + spdy.syn_reply(ours, 3, {"a": "b"}))
    assert [(f.type, f.stream_id, f.headers) for f in frames] == [(spdy.SYN_REPLY, 1, {}),
                                                                  (spdy.SYN_REPLY, 3, {"a": "b"})]


@pytest.mark.parametrize("bad", [
    b"\x80\x02\x00\x01\x00\x00\x00\x0a" + b"\x00" * 10,  # SPDY/2
    b"\x80\x03\x00\x01\x00\x00\x00\x02\x00\x00",  # SYN_STREAM too short
    b"\x80\x03\x00\x02\x00\x00\x00\x06\x00\x00\x00\x01zz",  # header block that is not zlib
])
def test_malformed_frames_are_errors(bad: bytes) -> None:
    with pytest.raises(spdy.SpdyError):
        spdy.FrameReader(spdy.HeaderCodec()).feed(bad)


def test_oversized_frame_is_refused_before_buffering() -> None:
    with pytest.raises(spdy.SpdyError):
        spdy.FrameReader(spdy.HeaderCodec(), max_frame=1024).feed(spdy.data(1, b"x" * 2000)[:8])
