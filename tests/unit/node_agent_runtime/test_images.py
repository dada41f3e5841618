"""The image store and tarball import on plain files (no namespaces): tags, resolution, layers, whiteouts."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from pathlib import Path

import pytest

from node_agent.runtime.images import ImageConfig, ImageNotFound, ImageStore
from node_agent.runtime.images.importer import ImportError_, import_tarball

pytestmark = pytest.mark.unit


def _tar(entries: dict[str, bytes | None], symlinks: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tf.addfile(info)
            else:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    return buf.getvalue()


def _docker_save(path: Path, layers: list[bytes], config: Mapping[str, object], tags: list[str]) -> str:
    raw = json.dumps(config).encode()
    files: dict[str, bytes | None] = {"config.json": raw}
    names = []
    for i, layer in enumerate(layers):
        files[f"l{i}/layer.tar"] = layer
        names.append(f"l{i}/layer.tar")
    files["manifest.json"] = json.dumps([{"Config": "config.json", "RepoTags": tags, "Layers": names}]).encode()
    path.write_bytes(_tar(files))
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def test_docker_save_import_applies_layers_and_whiteouts(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "root")
    base = _tar({"etc/": None, "etc/a": b"A", "etc/b": b"B", "opt/": None, "opt/x": b"x", "opt/y": b"y"})
    top = _tar({"etc/.wh.a": b"", "opt/.wh..wh..opq": b"", "opt/z": b"z", "etc/b": b"B2"}, {"bin/sh": "/bin/busybox"})
    cfg = {"config": {"Cmd": ["sh"], "Env": ["PATH=/bin"], "WorkingDir": "/w", "User": "1000",
                      "ExposedPorts": {"80/tcp": {}}}}
    want_id = _docker_save(tmp_path / "img.tar", [base, top], cfg, ["myapp:v1"])
    [img] = import_tarball(store, tmp_path / "img.tar")
    assert img.id == want_id and img.tags == ("docker.io/library/myapp:v1",)
    root = img.rootfs
    assert not (root / "etc/a").exists() and (root / "etc/b").read_bytes() == b"B2"
    assert sorted(p.name for p in (root / "opt").iterdir()) == ["z"]
    assert (root / "bin/sh").is_symlink()
    assert img.config == ImageConfig(cmd=("sh",), env=("PATH=/bin",), working_dir="/w", user="1000",
                                     exposed_ports=("80/tcp",))
    assert store.resolve("myapp:v1").id == img.id
    assert store.resolve(img.id[7:20]).id == img.id
    assert store.resolve(f"docker.io/library/myapp@{img.id}").id == img.id
    with pytest.raises(ImageNotFound):
        store.resolve("myapp:v2")
    assert store.remove("myapp:v1") and not store.all()


def test_import_refuses_escaping_paths(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "root")
    _docker_save(tmp_path / "bad.tar", [_tar({"../evil": b"x"})], {"config": {}}, [])
    with pytest.raises(ImportError_):
        import_tarball(store, tmp_path / "bad.tar")
    assert not (tmp_path / "root" / "evil").exists() and not store.all()


def test_oci_layout_import(tmp_path: Path) -> None:
    layer = _tar({"hello": b"world"})
    cfg = json.dumps({"config": {"Entrypoint": ["/hello"]}}).encode()

    def blob(data: bytes) -> tuple[str, str]:
        h = hashlib.sha256(data).hexdigest()
        return f"sha256:{h}", f"blobs/sha256/{h}"
    ld, lp = blob(layer)
    cd, cp = blob(cfg)
    manifest = json.dumps({"config": {"digest": cd}, "layers": [{"digest": ld}]}).encode()
    md, mp = blob(manifest)
    index = json.dumps({"manifests": [{"digest": md, "annotations": {"org.opencontainers.image.ref.name": "v3"}}]})
    (tmp_path / "oci.tar").write_bytes(_tar({"oci-layout": b"{}", "index.json": index.encode(), lp: layer, cp: cfg,
                                             mp: manifest}))
    store = ImageStore(tmp_path / "root")
    [img] = import_tarball(store, tmp_path / "oci.tar", ["hello:v3"])
    assert (img.rootfs / "hello").read_bytes() == b"world" and img.config.entrypoint == ("/hello",)
    assert store.resolve("hello:v3").id == img.id == cd


def test_not_an_image(tmp_path: Path) -> None:
    (tmp_path / "x.tar").write_bytes(_tar({"foo": b"bar"}))
    with pytest.raises(ImportError_, match="neither a docker save archive"):
        import_tarball(ImageStore(tmp_path / "root"), tmp_path / "x.tar")


def test_layer_owners_are_numeric(tmp_path: Path) -> None:
    import os
    if os.geteuid() != 0:
        pytest.skip("chown needs root")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("srv/data")
        info.size, info.uid, info.gid, info.uname, info.gname = 1, 4242, 4343, "root", "root"
        tf.addfile(info, io.BytesIO(b"x"))
    _docker_save(tmp_path / "o.tar", [buf.getvalue()], {"config": {}}, ["owned:v1"])
    [img] = import_tarball(ImageStore(tmp_path / "root"), tmp_path / "o.tar")
    st = (img.rootfs / "srv/data").stat()
    assert (st.st_uid, st.st_gid) == (4242, 4343)  # the ids in the layer, not the host's "root"


def test_absolute_symlinks_resolve_inside_the_image(tmp_path: Path) -> None:
    # layer 1: var/run -> /run (absolute, as in Debian images); layer 2 writes through it
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for d in ("run/", "var/"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tf.addfile(info)
        link = tarfile.TarInfo("var/run")
        link.type, link.linkname = tarfile.SYMTYPE, "/run"
        tf.addfile(link)
    top = _tar({"var/run/kemu-import-test.pid": b"1"})
    _docker_save(tmp_path / "s.tar", [buf.getvalue(), top], {"config": {}}, ["links:v1"])
    [img] = import_tarball(ImageStore(tmp_path / "root"), tmp_path / "s.tar")
    assert (img.rootfs / "run/kemu-import-test.pid").read_bytes() == b"1"
    assert (img.rootfs / "var/run").is_symlink()
    assert not Path("/run/kemu-import-test.pid").exists()  # never the host's /run
