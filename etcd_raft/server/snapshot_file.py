"""The bytes of `etcdctl snapshot save` for an etcd_raft member, and reading them back for a restore.

etcdctl checks what it downloads the way it checks a bolt database: the size minus a 32-byte trailer must be a
multiple of 512 and the trailer is the sha256 of everything before it. So a snapshot file here is:
  8-byte big-endian length of the state | the member state (MemberState.snapshot()) | zero padding to 512 | sha256
"""

from __future__ import annotations

import hashlib

PAGE = 512


def encode(state: bytes) -> bytes:
    body = len(state).to_bytes(8, "big") + state
    body += b"\0" * (-len(body) % PAGE)
    return body + hashlib.sha256(body).digest()


def decode(blob: bytes) -> bytes:
    body, trailer = blob[:-32], blob[-32:]
    if len(blob) < 40 or len(body) % PAGE or hashlib.sha256(body).digest() != trailer:
        raise ValueError("not an etcd_raft snapshot (bad size or sha256 checksum)")
    size = int.from_bytes(body[:8], "big")
    if size > len(body) - 8:
        raise ValueError("snapshot is truncated")
    return body[8: 8 + size]
