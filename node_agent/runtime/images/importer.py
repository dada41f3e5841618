"""Import ``docker save`` and OCI image-layout tarballs into the store.

Both formats reduce to: an image config JSON and an ordered list of layer tarballs (plain or gzip). Layers are
applied in order onto one rootfs; whiteouts follow the OCI layer spec: ``.wh.<name>`` deletes ``<name>`` from the
lower layers, ``.wh..wh..opq`` empties the directory it sits in. Member paths that would escape the rootfs (absolute,
``..``, or through a symlink) are refused. The image id is the sha256 of the config blob, as Docker computes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
from pathlib import Path
from typing import IO, Any

from node_agent.runtime import nsutil
from node_agent.runtime.images import Image, ImageConfig, ImageStore

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


class ImportError_(ValueError):
    pass


def _safe_join(root: Path, member: str) -> Path:
    parts = [p for p in member.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise ImportError_(f"layer member {member!r} escapes the root")
    return root.joinpath(*parts) if parts else root


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    elif p.exists() or p.is_symlink():
        p.unlink()


def _in_scope(rootfs: Path, member: str) -> Path:
    """Where ``member`` lands: its parent directories resolved inside the rootfs (an absolute symlink such as
    var/run -> /run points into the image, never at the host), its last component kept as is."""
    _safe_join(rootfs, member)  # refuses ".."
    parent = nsutil.resolve_in_root(str(rootfs), os.path.dirname(member.rstrip("/")))
    return Path(parent) / os.path.basename(member.rstrip("/"))


def apply_layer(rootfs: Path, layer: IO[bytes]) -> None:
    root = rootfs.resolve()
    with tarfile.open(fileobj=layer, mode="r:*") as tf:
        members = tf.getmembers()
        # whiteouts first: they describe the lower layers, not entries of this one
        for m in members:
            base = os.path.basename(m.name)
            if base == OPAQUE or base.startswith(WHITEOUT):
                _safe_join(root, m.name)  # refuses ".."
                parent = Path(nsutil.resolve_in_root(str(root), os.path.dirname(m.name)))
                if base == OPAQUE:
                    if parent.is_dir():
                        for child in parent.iterdir():
                            _remove(child)
                else:
                    _remove(parent / base[len(WHITEOUT):])
        for m in members:
            base = os.path.basename(m.name.rstrip("/"))
            if base.startswith(WHITEOUT) or not base or base == ".":
                continue  # whiteouts are done; "." is the rootfs itself
            dest = _in_scope(root, m.name)
            if dest.is_symlink() or (dest.exists() and not (m.isdir() and dest.is_dir())):
                _remove(dest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if m.islnk():
                os.link(_in_scope(root, m.linkname), dest)
                continue
            # extract under the resolved name, so tarfile never walks a symlink of the image itself;
            # numeric ids: an image's uid 101 is 101 inside the container, whatever name the host gives it
            m.name = str(dest.relative_to(root))
            tf.extract(m, root, set_attrs=True, numeric_owner=True, filter="fully_trusted")


def _config_of(raw: bytes) -> ImageConfig:
    cfg = json.loads(raw).get("config") or {}
    return ImageConfig.from_json(cfg)


def import_tarball(store: ImageStore, path: Path, extra_tags: list[str] | None = None) -> list[Image]:
    with tarfile.open(path, "r:*") as tf:
        names = set(tf.getnames())

        def read(name: str) -> bytes:
            f = tf.extractfile(name.lstrip("./") if name.lstrip("./") in names else name)
            if f is None:
                raise ImportError_(f"{path}: {name} is missing")
            return f.read()

        images: list[tuple[bytes, list[str], list[str]]] = []  # config, layer member names, tags
        if "manifest.json" in names:
            for entry in json.loads(read("manifest.json")):
                images.append((read(entry["Config"]), list(entry["Layers"]), list(entry.get("RepoTags") or [])))
        elif "index.json" in names or "./index.json" in names:
            index: dict[str, Any] = json.loads(read("index.json"))
            for desc in index.get("manifests", []):
                blob = "blobs/" + desc["digest"].replace(":", "/")
                man = json.loads(read(blob))
                if "manifests" in man:  # a nested image index: take the linux/amd64 or first manifest
                    pick = next((d for d in man["manifests"]
                                 if (d.get("platform") or {}).get("architecture") in (None, "amd64")),
                                man["manifests"][0])
                    man = json.loads(read("blobs/" + pick["digest"].replace(":", "/")))
                tag = (desc.get("annotations") or {}).get("org.opencontainers.image.ref.name", "")
                layers = ["blobs/" + lay["digest"].replace(":", "/") for lay in man["layers"]]
                images.append((read("blobs/" + man["config"]["digest"].replace(":", "/")), layers,
                               [tag] if tag and ":" not in tag else []))
        else:
            raise ImportError_(f"{path}: neither a docker save archive (manifest.json) nor an OCI layout (index.json)")
        out = []
        for config_raw, layers, tags in images:
            hexid = hashlib.sha256(config_raw).hexdigest()
            staging = store.staging()
            try:
                for lay in layers:
                    f = tf.extractfile(lay)
                    if f is None:
                        raise ImportError_(f"{path}: layer {lay} is missing")
                    apply_layer(staging / "rootfs", f)
                out.append(store.add(staging, _config_of(config_raw), tags + list(extra_tags or []), hexid,
                                     source=f"import:{path.name}"))
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return out
