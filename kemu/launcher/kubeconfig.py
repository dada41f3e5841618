"""Admin credentials for a launched cluster: the token file the apiserver reads and the kubeconfig kubectl uses."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import yaml

ADMIN_USER = "kemu-admin"


def write_token_file(path: Path) -> str:
    """Create (once) a Kubernetes static token file with an admin in system:masters; return the admin token."""
    if path.exists():
        for line in path.read_text().splitlines():
            token, user, *_ = line.split(",")
            if user == ADMIN_USER:
                return token
    token = secrets.token_hex(24)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'{token},{ADMIN_USER},{ADMIN_USER},"system:masters"\n')
    path.chmod(0o600)
    return token


def kubeconfig(server: str, token: str, ca_pem: bytes | None, name: str = "kemu") -> str:
    cluster: dict[str, object] = {"server": server}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": ADMIN_USER, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": ADMIN_USER, "namespace": "default"}}],
        "current-context": name,
    }
    return yaml.safe_dump(doc, sort_keys=False)
