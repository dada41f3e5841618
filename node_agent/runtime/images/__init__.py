"""The local image store: one directory per image (``rootfs/`` + ``config.json``) and a tag index.

Layout under the runtime root R::

    R/images/<64-hex id>/rootfs/        the image's root filesystem (lowerdir of every container's overlay)
    R/images/<64-hex id>/config.json    {"config": {Entrypoint, Cmd, Env, WorkingDir, User, ExposedPorts},
                                         "source": ..., "packages": {...}}
    R/images/tags.json                  {"docker.io/library/busybox:latest": "<id>", ...}

An image id is ``sha256:<hex>``; the hex is the directory name. Resolution: a full id or unique id prefix, then the
normalised reference (``busybox`` == ``docker.io/library/busybox:latest``), then a digest reference whose digest is
a known id. Writers build into a temporary directory and rename it into place, so readers never see half an image.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from node_agent.runtime.refs import InvalidReference, parse


class ImageNotFound(LookupError):
    pass


@dataclass(frozen=True)
class ImageConfig:
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    working_dir: str = ""
    user: str = ""
    exposed_ports: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"Entrypoint": list(self.entrypoint) or None, "Cmd": list(self.cmd) or None, "Env": list(self.env),
                "WorkingDir": self.working_dir, "User": self.user,
                "ExposedPorts": {p: {} for p in self.exposed_ports}}

    @staticmethod
    def from_json(d: dict[str, Any]) -> ImageConfig:
        return ImageConfig(tuple(d.get("Entrypoint") or ()), tuple(d.get("Cmd") or ()), tuple(d.get("Env") or ()),
                           d.get("WorkingDir") or "", d.get("User") or "", tuple(d.get("ExposedPorts") or {}))


@dataclass(frozen=True)
class Image:
    id: str  # sha256:<hex>
    path: Path
    config: ImageConfig
    tags: tuple[str, ...] = ()
    size: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def rootfs(self) -> Path:
        return self.path / "rootfs"

    def repo_tags(self) -> list[str]:
        return [t for t in self.tags if "@" not in t]

    def digests(self) -> list[str]:
        """Registry manifest digests when pulled (``name@sha256:...`` index entries), else ``name@<id>``."""
        pulled = [t for t in self.tags if "@" in t]
        if pulled:
            return pulled
        return [f"{n}@{self.id}" for n in sorted({t.rsplit(":", 1)[0] for t in self.tags})]


def _du(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


class ImageStore:
    def __init__(self, root: Path) -> None:
        self.dir = Path(root) / "images"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.tags_file = self.dir / "tags.json"

    @contextmanager
    def locked(self) -> Iterator[None]:
        with open(self.dir / ".lock", "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            yield

    def _tags(self) -> dict[str, str]:
        try:
            return dict(json.loads(self.tags_file.read_text()))
        except (OSError, ValueError):
            return {}

    def _save_tags(self, tags: dict[str, str]) -> None:
        tmp = self.tags_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(tags, indent=1, sort_keys=True))
        os.replace(tmp, self.tags_file)

    def _load(self, hexid: str, tags: dict[str, str]) -> Image:
        p = self.dir / hexid
        meta = json.loads((p / "config.json").read_text())
        mine = tuple(sorted(t for t, i in tags.items() if i == hexid))
        return Image("sha256:" + hexid, p, ImageConfig.from_json(meta.get("config") or {}), mine,
                     int(meta.get("size") or 0), meta)

    def all(self) -> list[Image]:
        tags = self._tags()
        out = []
        for p in sorted(self.dir.iterdir()):
            if p.is_dir() and len(p.name) == 64 and (p / "config.json").exists():
                out.append(self._load(p.name, tags))
        return out

    def resolve(self, ref: str) -> Image:
        """The image a reference names; ImageNotFound when there is none (InvalidReference when malformed)."""
        tags = self._tags()
        s = ref.strip()
        hexid = s[7:] if s.startswith("sha256:") else s
        if len(hexid) >= 12 and all(c in "0123456789abcdef" for c in hexid):
            hits = [p.name for p in self.dir.iterdir() if p.name.startswith(hexid) and (p / "config.json").exists()]
            if len(hits) == 1:
                return self._load(hits[0], tags)
        r = parse(s)
        if r.digest:
            byname = tags.get(str(r), "")  # a pulled manifest digest
            if byname and (self.dir / byname / "config.json").exists():
                return self._load(byname, tags)
            hexd = r.digest[7:]
            if (self.dir / hexd / "config.json").exists():
                return self._load(hexd, tags)
            raise ImageNotFound(f"image {ref!r} not found")
        hexid = tags.get(str(r), "")
        if hexid and (self.dir / hexid / "config.json").exists():
            return self._load(hexid, tags)
        raise ImageNotFound(f"image {ref!r} not found")

    def tag(self, image_id: str, ref: str) -> None:
        with self.locked():
            tags = self._tags()
            tags[str(parse(ref))] = image_id.removeprefix("sha256:")
            self._save_tags(tags)

    def add(self, staging: Path, config: ImageConfig, refs: list[str], hexid: str, **meta: Any) -> Image:
        """Move a built ``staging`` dir (holding ``rootfs/``) into the store as image ``hexid`` and tag it."""
        record = {"config": config.to_json(), "size": _du(staging / "rootfs"), **meta}
        (staging / "config.json").write_text(json.dumps(record, indent=1, sort_keys=True))
        final = self.dir / hexid
        with self.locked():
            if final.exists():
                shutil.rmtree(staging, ignore_errors=True)
            else:
                os.replace(staging, final)
            tags = self._tags()
            for ref in refs:
                tags[str(parse(ref))] = hexid
            self._save_tags(tags)
            return self._load(hexid, tags)

    def staging(self) -> Path:
        d = self.dir / f".tmp-{os.getpid()}-{os.urandom(4).hex()}"
        (d / "rootfs").mkdir(parents=True)
        return d

    def remove(self, ref: str) -> bool:
        try:
            img = self.resolve(ref)
        except (ImageNotFound, InvalidReference):
            return False
        with self.locked():
            tags = {t: i for t, i in self._tags().items() if i != img.path.name}
            self._save_tags(tags)
            # rename first: a half-deleted tree must never look like an image
            doomed = self.dir / f".rm-{img.path.name}"
            os.replace(img.path, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
        return True


__all__ = ["Image", "ImageConfig", "ImageNotFound", "ImageStore", "InvalidReference"]
