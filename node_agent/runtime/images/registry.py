"""Pull from an OCI distribution (registry v2) API: anonymous or bearer-token auth, manifest lists, digests checked.

``pull(store, ref)``: GET /v2/<repo>/manifests/<tag|digest> accepting OCI and Docker v2 manifests and indexes; an
index picks linux/amd64; a 401 with ``WWW-Authenticate: Bearer realm=...,service=...,scope=...`` fetches an
anonymous token from the realm and retries. The config and every layer blob are downloaded, checked against their
sha256 digests, and the layers applied in order (whiteouts included) by the importer. The image id is the config
digest; the reference is tagged, and ``name@<manifest digest>`` is recorded so digest references resolve.

Registries on localhost/127.0.0.1 (and hosts in ``KEMU_INSECURE_REGISTRIES``, comma-separated) use plain HTTP;
``docker.io`` means ``registry-1.docker.io``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from node_agent.runtime.images import Image, ImageConfig, ImageStore
from node_agent.runtime.images.importer import ImportError_, apply_layer
from node_agent.runtime.refs import Ref

ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json"])
TIMEOUT_S = 15.0


class PullError(RuntimeError):
    pass


def _base(registry: str) -> str:
    host = "registry-1.docker.io" if registry == "docker.io" else registry
    insecure = {h.strip() for h in os.environ.get("KEMU_INSECURE_REGISTRIES", "").split(",") if h.strip()}
    plain = host.split(":")[0] in ("localhost", "127.0.0.1") or host in insecure
    return f"{'http' if plain else 'https'}://{host}"


class _DropAuthOnRedirect(urllib.request.HTTPRedirectHandler):
    """Blob downloads redirect to a CDN with a pre-signed URL; the registry token must not follow (S3-like stores
    reject a request carrying two authorisations)."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc:
            new.remove_header("Authorization")
        return new


_OPENER = urllib.request.build_opener(_DropAuthOnRedirect)


class _Client:
    def __init__(self, ref: Ref) -> None:
        self.ref = ref
        self.base = _base(ref.registry)
        self.token = ""

    def _auth(self, challenge: str) -> None:
        m = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        if not challenge.lower().startswith("bearer") or "realm" not in m:
            raise PullError(f"unsupported registry authentication: {challenge}")
        q = {"service": m.get("service", ""), "scope": m.get("scope", f"repository:{self.ref.repository}:pull")}
        url = m["realm"] + "?" + urllib.parse.urlencode({k: v for k, v in q.items() if v})
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as r:
            body = json.loads(r.read())
        self.token = body.get("token") or body.get("access_token") or ""
        if not self.token:
            raise PullError("the registry's token service returned no token")

    def get(self, path: str, accept: str = "") -> tuple[bytes, dict[str, str]]:
        for attempt in range(2):
            req = urllib.request.Request(f"{self.base}/v2/{self.ref.repository}/{path}")
            if accept:
                req.add_header("Accept", accept)
            if self.token:
                req.add_header("Authorization", f"Bearer {self.token}")
            try:
                with _OPENER.open(req, timeout=TIMEOUT_S) as r:
                    return r.read(), {k.lower(): v for k, v in r.headers.items()}
            except urllib.error.HTTPError as e:
                if e.code == 401 and attempt == 0:
                    self._auth(e.headers.get("WWW-Authenticate", ""))
                    continue
                if e.code == 404:
                    raise PullError(f"{self.ref}: not found") from e
                raise PullError(f"{self.ref}: registry answered {e.code} {e.reason}") from e
            except (urllib.error.URLError, OSError) as e:
                raise PullError(f"{self.ref}: cannot reach {self.base}: {getattr(e, 'reason', e)}") from e
        raise PullError(f"{self.ref}: unauthorized")

    def blob(self, digest: str) -> bytes:
        data, _ = self.get(f"blobs/{digest}")
        _check(data, digest)
        return data


def _check(data: bytes, digest: str) -> None:
    algo, _, want = digest.partition(":")
    if algo != "sha256" or hashlib.sha256(data).hexdigest() != want:
        raise PullError(f"digest mismatch for {digest}")


def _pick(index: dict[str, Any]) -> str:
    for m in index.get("manifests", []):
        p = m.get("platform") or {}
        if p.get("os", "linux") == "linux" and p.get("architecture", "amd64") == "amd64":
            return str(m["digest"])
    raise PullError("no linux/amd64 image in the manifest list")


def pull(store: ImageStore, ref: Ref) -> Image:
    c = _Client(ref)
    body, headers = c.get(f"manifests/{ref.digest or ref.tag}", ACCEPT)
    manifest = json.loads(body)
    digest = headers.get("docker-content-digest") or "sha256:" + hashlib.sha256(body).hexdigest()
    if ref.digest:
        _check(body, ref.digest)
        digest = ref.digest
    digests = [digest]
    if "manifests" in manifest:
        digest = _pick(manifest)
        body, _ = c.get(f"manifests/{digest}", ACCEPT)
        _check(body, digest)
        manifest = json.loads(body)
        digests.append(digest)
    if "config" not in manifest or "layers" not in manifest:
        raise PullError(f"{ref}: unsupported manifest (schema {manifest.get('schemaVersion')})")
    config_raw = c.blob(manifest["config"]["digest"])
    hexid = hashlib.sha256(config_raw).hexdigest()
    tags = [] if ref.digest else [str(ref)]
    if (store.dir / hexid / "config.json").exists():
        img = store.resolve("sha256:" + hexid)  # same image under another name: no layer download
        for t in tags + [f"{ref.name}@{d}" for d in digests]:
            store.tag(img.id, t)
        return store.resolve(img.id)
    staging = store.staging()
    try:
        for layer in manifest["layers"]:
            data = c.blob(layer["digest"])
            with tempfile.TemporaryFile() as f:
                f.write(data)
                f.seek(0)
                try:
                    apply_layer(staging / "rootfs", f)
                except (ImportError_, tarfile.TarError) as e:
                    raise PullError(f"{ref}: layer {layer['digest']}: {e}") from e
        cfg = ImageConfig.from_json(json.loads(config_raw).get("config") or {})
        img = store.add(staging, cfg, tags + [f"{ref.name}@{d}" for d in digests], hexid,
                        source=f"registry:{ref.name}", manifest_digest=digest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return img
