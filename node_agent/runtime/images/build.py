"""Local image builds from Debian packages, without any registry.

``busybox``: Debian's busybox-static binary (taken from the installed package, or fetched with ``apt-get download``
when it is not installed) plus one symlink per applet, a minimal /etc (passwd, group, nsswitch) and the usual empty
directories. It takes well under a second. The image id hashes the package version, so rebuilding the same version
yields the same id.

Other well-known names (``nginx``, ``redis``, ``python``) are built by ``build_debian``: the package and its
dependency closure (``apt-cache depends --recurse``, hard dependencies only) are downloaded with ``apt-get download``
into a cache keyed by package versions, unpacked with ``dpkg -x`` into the rootfs, then busybox is added for a shell.
Maintainer scripts do not run; what they would have done that the program needs (users, directories, the nginx
default site) is done by a small per-image fix-up here.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from node_agent.runtime.images import Image, ImageConfig, ImageStore

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CACHE_DIR = Path(os.environ.get("KEMU_IMAGE_CACHE", "/var/cache/kemu/images"))


class BuildError(RuntimeError):
    pass


def _run(argv: list[str], cwd: Path | None = None, timeout: float = 600) -> str:
    r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise BuildError(f"{' '.join(argv)} failed: {r.stderr.strip()[-2000:]}")
    return r.stdout


def package_version(pkg: str) -> str:
    out = subprocess.run(["dpkg-query", "-W", "-f=${Status}|${Version}", pkg], capture_output=True, text=True)
    if out.returncode == 0 and out.stdout.startswith("install ok installed|"):
        return out.stdout.split("|", 1)[1]
    pol = _run(["apt-cache", "policy", pkg])
    for line in pol.splitlines():
        if line.strip().startswith("Candidate:"):
            v = line.split(":", 1)[1].strip()
            if v and v != "(none)":
                return v
    raise BuildError(f"Debian package {pkg} is not installed and has no installation candidate")


def _busybox_binary(workdir: Path) -> tuple[Path, str]:
    version = package_version("busybox-static")
    installed = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "busybox-static"], capture_output=True, text=True)
    if installed.stdout == "install ok installed" and Path("/bin/busybox").exists():
        return Path("/bin/busybox"), version
    debs = _download(["busybox-static"], workdir)
    x = workdir / "bbx"
    _run(["dpkg", "-x", str(debs[0]), str(x)])
    return x / "bin" / "busybox", version


def _download(pkgs: list[str], dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    _run(["apt-get", "download", *pkgs], cwd=dest, timeout=1200)
    return sorted(dest.glob("*.deb"))


def _base_etc(rootfs: Path, users: list[tuple[str, int]] | None = None) -> None:
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "tmp", "proc", "sys", "dev", "root", "var/run",
              "var/tmp", "run", "home"):
        (rootfs / d).mkdir(parents=True, exist_ok=True)
    os.chmod(rootfs / "tmp", 0o1777)
    os.chmod(rootfs / "var/tmp", 0o1777)
    extra = users or []
    passwd = ["root:x:0:0:root:/root:/bin/sh"] + [f"{n}:x:{i}:{i}:{n}:/nonexistent:/bin/false" for n, i in extra]
    passwd.append("nobody:x:65534:65534:nobody:/nonexistent:/bin/false")
    group = ["root:x:0:"] + [f"{n}:x:{i}:" for n, i in extra] + ["nogroup:x:65534:"]
    (rootfs / "etc/passwd").write_text("\n".join(passwd) + "\n")
    (rootfs / "etc/group").write_text("\n".join(group) + "\n")
    (rootfs / "etc/nsswitch.conf").write_text("passwd: files\ngroup: files\nhosts: files dns\n")


def _install_busybox(rootfs: Path, binary: Path) -> None:
    bb = rootfs / "bin/busybox"
    shutil.copy2(binary, bb)
    applets = subprocess.run([str(bb), "--list-full"], capture_output=True, text=True, check=True).stdout.split()
    for a in applets:
        link = rootfs / a
        if link.exists() or link.is_symlink():
            continue  # a real program from a package wins over the applet
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink("/bin/busybox", link)


def build_busybox(store: ImageStore) -> Image:
    staging = store.staging()
    try:
        binary, version = _busybox_binary(staging)
        rootfs = staging / "rootfs"
        _base_etc(rootfs)
        _install_busybox(rootfs, binary)
        shutil.rmtree(staging / "bbx", ignore_errors=True)
        cfg = ImageConfig(cmd=("sh",), env=(PATH_ENV,))
        hexid = hashlib.sha256(json.dumps({"busybox-static": version, "cfg": cfg.to_json()}).encode()).hexdigest()
        upstream = version.split(":")[-1].split("-")[0]  # 1:1.35.0-4+deb12u1 -> 1.35.0
        tags = ["busybox:latest", f"busybox:{upstream}", f"busybox:{'.'.join(upstream.split('.')[:2])}"]
        return store.add(staging, cfg, tags, hexid, source="debian", packages={"busybox-static": version})
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


@dataclass(frozen=True)
class Recipe:
    packages: tuple[str, ...]
    config: ImageConfig
    users: tuple[tuple[str, int], ...] = ()
    exclude: tuple[str, ...] = ()
    fixup: Callable[[Path], None] | None = None


def _nginx_fixup(rootfs: Path) -> None:
    for d in ("var/log/nginx", "var/lib/nginx/body", "var/www/html", "etc/nginx/sites-enabled", "run"):
        (rootfs / d).mkdir(parents=True, exist_ok=True)
    site = rootfs / "etc/nginx/sites-enabled/default"
    if not site.exists() and not site.is_symlink():
        os.symlink("/etc/nginx/sites-available/default", site)
    page = rootfs / "usr/share/nginx/html/index.html"
    target = rootfs / "var/www/html/index.nginx-debian.html"
    if page.exists() and not target.exists():
        shutil.copy2(page, target)
    # the container's stdout/stderr are its logs, as in the official image
    for name, dev in (("access.log", "/dev/stdout"), ("error.log", "/dev/stderr")):
        p = rootfs / "var/log/nginx" / name
        if p.exists() or p.is_symlink():
            p.unlink()
        os.symlink(dev, p)


def _redis_fixup(rootfs: Path) -> None:
    (rootfs / "data").mkdir(exist_ok=True)


# Packages only maintainer scripts, package management or system services need; a container runs one program.
_BASE_EXCLUDE = ("debconf", "cdebconf", "libdebian-installer4", "libnewt0.52", "libslang2", "libtextwrap1",
                 "perl-base", "perl", "perl-modules-5.36", "libperl5.36", "libfile-find-rule-perl",
                 "libnumber-compare-perl", "libtext-glob-perl", "dpkg", "install-info", "tar", "usrmerge",
                 "usr-is-merged", "init-system-helpers", "lsb-base", "sysvinit-utils", "systemd",
                 "libelogind0", "adduser", "passwd", "libpam0g", "libpam-modules", "libpam-modules-bin",
                 "libsemanage2", "libsemanage-common", "libsepol2", "libaudit1", "libaudit-common", "libcap-ng0",
                 "iproute2", "libbpf1", "libelf1", "libmnl0", "libxtables12", "libcap2-bin", "tzdata", "mailcap",
                 "mime-support")

RECIPES: dict[str, Recipe] = {
    "nginx": Recipe(("nginx",), ImageConfig(cmd=("nginx", "-g", "daemon off;"), env=(PATH_ENV,),
                                            exposed_ports=("80/tcp",)),
                    users=(("www-data", 33),), exclude=_BASE_EXCLUDE, fixup=_nginx_fixup),
    "redis": Recipe(("redis-server",), ImageConfig(cmd=("redis-server", "--protected-mode", "no"), env=(PATH_ENV,),
                                                   working_dir="/data", exposed_ports=("6379/tcp",)),
                    users=(("redis", 999),), exclude=_BASE_EXCLUDE, fixup=_redis_fixup),
    "python": Recipe(("python3",), ImageConfig(cmd=("python3",), env=(PATH_ENV, "LANG=C.UTF-8")),
                     exclude=_BASE_EXCLUDE),
}


def dependency_closure(packages: tuple[str, ...], exclude: tuple[str, ...]) -> list[str]:
    out = _run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                "--no-breaks", "--no-replaces", "--no-enhances", "--no-pre-depends", *packages])
    pre = _run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                "--no-breaks", "--no-replaces", "--no-enhances", *packages])
    names = set()
    for line in (out + pre).splitlines():
        s = line.strip()
        if s.startswith("|"):
            s = s[1:]
        if ":" in s:
            kind, _, dep = s.partition(":")
            if kind.strip() not in ("Depends", "PreDepends"):
                continue
            s = dep.strip()
        if not s or s.startswith("<") or " " in s:
            continue  # virtual packages print as <name>
        names.add(s.split(":")[0])
    return sorted(n for n in names if n not in exclude)


def build_debian(store: ImageStore, name: str) -> Image:
    recipe = RECIPES[name]
    pkgs = dependency_closure(recipe.packages, recipe.exclude)
    versions = {p: package_version(p) for p in pkgs}
    bb_path, bb_version = _busybox_binary(store.dir)
    key = hashlib.sha256(json.dumps({"v": versions, "bb": bb_version, "cfg": recipe.config.to_json()},
                                    sort_keys=True).encode()).hexdigest()
    cache = CACHE_DIR / name / key[:16]
    if not (cache / "done").exists():
        shutil.rmtree(cache, ignore_errors=True)
        _download(pkgs, cache / "debs")
        (cache / "done").write_text(json.dumps(versions, indent=1))
    staging = store.staging()
    try:
        rootfs = staging / "rootfs"
        for deb in sorted((cache / "debs").glob("*.deb")):
            _run(["dpkg", "-x", str(deb), str(rootfs)])
        _base_etc(rootfs, list(recipe.users))
        _install_busybox(rootfs, bb_path)
        if recipe.fixup:
            recipe.fixup(rootfs)
        return store.add(staging, recipe.config, [f"{name}:latest"], key, source="debian", packages=versions)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


BUILDABLE = ("busybox", *RECIPES)


def build(store: ImageStore, name: str) -> Image:
    if name == "busybox":
        return build_busybox(store)
    if name in RECIPES:
        return build_debian(store, name)
    raise BuildError(f"no local build recipe for {name!r} (known: {', '.join(BUILDABLE)})")
