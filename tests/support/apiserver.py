"""Start ``python -m apiserver`` on a free port (HTTPS with its generated CA, static tokens) and drive it with the real
kubectl. HTTPS because kubectl never sends bearer tokens over plain HTTP.
"""

from __future__ import annotations

import ssl
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from kemu.launcher.kubeconfig import kubeconfig
from tests.support.procs import ProcessGroup, free_port, wait_for

ADMIN_TOKEN = "kemu-test-admin-token"
USER_TOKEN = "kemu-test-alice-token"


@dataclass
class ApiServer:
    url: str
    token: str
    kubeconfig: Path
    cache_dir: Path
    name: str
    ca_file: Path
    etcd_urls: list[str]

    def kubectl(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60,
                kubeconfig: Path | None = None) -> subprocess.CompletedProcess[str]:
        cmd = ["kubectl", "--kubeconfig", str(kubeconfig or self.kubeconfig), "--cache-dir", str(self.cache_dir),
               *args]
        proc = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc


def start_apiserver(procs: ProcessGroup, etcd_urls: list[str], workdir: Path, name: str = "apiserver",
                    minor: int = 32, extra: list[str] | None = None) -> ApiServer:
    workdir.mkdir(parents=True, exist_ok=True)
    tokens = workdir / "tokens.csv"
    tokens.write_text(f'{ADMIN_TOKEN},admin,admin,"system:masters"\n{USER_TOKEN},alice,alice\n')
    port = free_port()
    procs.start(name, [sys.executable, "-m", "apiserver", "--etcd-servers", ",".join(etcd_urls),
                       "--bind-address", "127.0.0.1", "--secure-port", str(port), "--token-auth-file",
                       str(tokens), "--cert-dir", str(workdir / "pki"), "--emulated-minor", str(minor),
                       *(extra or [])])
    url = f"https://127.0.0.1:{port}"
    ca = workdir / "pki" / "ca.crt"

    def healthy() -> bool:
        try:
            ctx = ssl.create_default_context(cafile=str(ca))
            with urllib.request.urlopen(url + "/readyz", timeout=1, context=ctx) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    wait_for(healthy, timeout_s=60, what=f"{name} /readyz")
    kc = workdir / "kubeconfig"
    kc.write_text(kubeconfig(url, ADMIN_TOKEN, ca.read_bytes()))
    return ApiServer(url, ADMIN_TOKEN, kc, workdir / "kubectl-cache", name, ca, list(etcd_urls))
