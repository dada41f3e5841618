"""The apiserver's PKI under ``--cert-dir``: a cluster CA, a serving certificate signed by it, and the service
account signing key. Created once and shared by every apiserver that uses the same directory (an exclusive lock
file keeps concurrent starts from racing); existing files are reused, so kubeconfigs stay valid across restarts.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import ipaddress
import os
import secrets
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SERVICE_DNS = ("kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
               "localhost")


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o600)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def ensure_pki(cert_dir: Path, ips: list[str], names: list[str] = []) -> tuple[Path, Path, Path]:  # noqa: B006
    """(ca.crt, serving cert, serving key). The serving cert is per bind address: apiserver-<ip>.crt."""
    cert_dir.mkdir(parents=True, exist_ok=True)
    with open(cert_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ca_crt, ca_key_path = cert_dir / "ca.crt", cert_dir / "ca.key"
        now = dt.datetime.now(dt.UTC)
        if not ca_crt.exists():
            ca_key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kemu-ca")])
            ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ca_key.public_key())
                  .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
                  .not_valid_after(now + dt.timedelta(days=3650))
                  .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                  .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), True)
                  .sign(ca_key, hashes.SHA256()))
            _write(ca_key_path, _key_pem(ca_key))
            _write(ca_crt, ca.public_bytes(serialization.Encoding.PEM))
        tag = "-".join(sorted(ips)).replace(":", "_") or "default"
        crt, key_path = cert_dir / f"apiserver-{tag}.crt", cert_dir / f"apiserver-{tag}.key"
        if not crt.exists():
            ca_cert = x509.load_pem_x509_certificate(ca_crt.read_bytes())
            ca_key_loaded = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
            assert isinstance(ca_key_loaded, ec.EllipticCurvePrivateKey)
            key = ec.generate_private_key(ec.SECP256R1())
            sans: list[x509.GeneralName] = [x509.DNSName(n) for n in (*SERVICE_DNS, *names)]
            sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in {*ips, "127.0.0.1", "10.96.0.1"}]
            cert = (x509.CertificateBuilder()
                    .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
                    .issuer_name(ca_cert.subject).public_key(key.public_key())
                    .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
                    .not_valid_after(now + dt.timedelta(days=365))
                    .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                    .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                    .sign(ca_key_loaded, hashes.SHA256()))
            _write(key_path, _key_pem(key))
            _write(crt, cert.public_bytes(serialization.Encoding.PEM))
        return ca_crt, crt, key_path


def service_account_key(cert_dir: Path) -> bytes:
    """The shared secret that signs service-account tokens (created once, 32 random bytes)."""
    cert_dir.mkdir(parents=True, exist_ok=True)
    path = cert_dir / "sa.key"
    with open(cert_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            _write(path, secrets.token_bytes(32))
        return path.read_bytes()
