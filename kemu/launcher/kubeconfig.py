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


# Component identities, as kube-apiserver's default RBAC policy names them (nodes: system:node:<name> in
# system:nodes). Each gets its own static token in the token file.
def component_user(component: str) -> tuple[str, str]:
    """(user, groups) for a component name: scheduler, controller-manager, node-<i>."""
    if component == "scheduler":
        return "system:kube-scheduler", ""
    if component == "controller-manager":
        return "system:kube-controller-manager", ""
    return f"system:node:{component}", "system:nodes"


def component_token(path: Path, component: str) -> str:
    """The component's token from the token file, added (once) if missing."""
    user, groups = component_user(component)
    lines = path.read_text().splitlines() if path.exists() else []
    for line in lines:
        token, name, *_ = line.split(",")
        if name == user:
            return token
    token = secrets.token_hex(24)
    lines.append(f'{token},{user},{user},"{groups}"' if groups else f"{token},{user},{user}")
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return token


def kubeconfig(server: str, token: str, ca_pem: bytes | None, name: str = "kemu", ca_file: str | None = None,
               user: str = ADMIN_USER) -> str:
    cluster: dict[str, object] = {"server": server}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    elif ca_file is not None:
        cluster["certificate-authority"] = ca_file
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": user, "namespace": "default"}}],
        "current-context": name,
    }
    return yaml.safe_dump(doc, sort_keys=False)
