"""Image reference parsing (pure): Docker's normalisation of short names.

``busybox`` -> ``docker.io/library/busybox:latest``; ``busybox:1.36`` -> ``docker.io/library/busybox:1.36``;
``me/app`` -> ``docker.io/me/app:latest``; ``registry:5000/x/y@sha256:...`` keeps its registry and digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")


class InvalidReference(ValueError):
    pass


@dataclass(frozen=True)
class Ref:
    registry: str
    repository: str  # e.g. library/busybox
    tag: str
    digest: str = ""

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    @property
    def short(self) -> str:
        """The last path component: what the local builders know (busybox, nginx ...)."""
        return self.repository.rsplit("/", 1)[-1]

    def __str__(self) -> str:
        if self.digest:
            return f"{self.name}@{self.digest}"
        return f"{self.name}:{self.tag}"


def parse(ref: str) -> Ref:
    s = ref.strip()
    if not s:
        raise InvalidReference("image reference is empty")
    digest = ""
    if "@" in s:
        s, digest = s.split("@", 1)
        if not _DIGEST.match(digest):
            raise InvalidReference(f"invalid reference format: bad digest in {ref!r}")
    tag = ""
    last = s.rsplit("/", 1)[-1]
    if ":" in last:
        s, tag = s.rsplit(":", 1)
        if not _TAG.match(tag):
            raise InvalidReference(f"invalid reference format: bad tag in {ref!r}")
    parts = s.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        registry, path = parts[0], parts[1:]
    else:
        registry, path = "docker.io", parts
    if registry == "docker.io" and len(path) == 1:
        path = ["library", *path]
    for p in path:
        if not _COMPONENT.match(p):
            raise InvalidReference(f"invalid reference format: repository name must be lowercase: {ref!r}")
    return Ref(registry, "/".join(path), tag or ("" if digest else "latest"), digest)
