"""Member and cluster IDs, derived like etcd's: a hash of the member's peer URLs (+ the cluster token) and of the
sorted member IDs, so every member computes the same IDs from the same --initial-cluster without talking."""

from __future__ import annotations

import hashlib
import struct


def member_id(peer_urls: list[str], token: str) -> int:
    digest = hashlib.sha1(("".join(sorted(peer_urls)) + token).encode()).digest()
    return int(struct.unpack(">Q", digest[:8])[0])


def cluster_id(member_ids: list[int]) -> int:
    digest = hashlib.sha1(b"".join(struct.pack(">Q", m) for m in sorted(member_ids))).digest()
    return int(struct.unpack(">Q", digest[:8])[0])


def parse_initial_cluster(text: str) -> list[tuple[str, str]]:
    """`m1=http://a:2380,m2=http://b:2380` -> [(name, peer_url)], as etcd's --initial-cluster."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, url = part.partition("=")
        if not sep or not name or not url:
            raise ValueError(f"--initial-cluster entry {part!r} is not name=peer-url")
        out.append((name, url))
    return out


def host_port(url: str) -> str:
    return url.split("://", 1)[-1].rstrip("/")
