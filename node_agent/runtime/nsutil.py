"""Linux namespace and mount system calls through libc (Python 3.11 has no os.unshare/os.setns).

Every wrapper raises OSError with errno's text on failure, like the os module's own calls.
"""

from __future__ import annotations

import ctypes
import os

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MNT_DETACH = 2

_SYS_PIVOT_ROOT = 155  # x86_64

# glibc's soname directly: ctypes.util.find_library would spawn ldconfig in every short-lived helper process
_libc = ctypes.CDLL("libc.so.6", use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def setns(path: str, nstype: int = 0) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check(_libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)), f"setns {path}")
    finally:
        os.close(fd)


def setns_fd(fd: int, nstype: int = 0) -> None:
    _check(_libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)), "setns")


def mount(source: str, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    rc = _libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                     ctypes.c_ulong(flags), data.encode() if data else None)
    _check(rc, f"mount {source} on {target}")


def umount2(target: str, flags: int = 0) -> None:
    _check(_libc.umount2(target.encode(), ctypes.c_int(flags)), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    _check(_libc.syscall(ctypes.c_long(_SYS_PIVOT_ROOT), new_root.encode(), put_old.encode()), "pivot_root")


PR_CAPBSET_DROP = 24
PR_SET_PDEATHSIG = 1


def set_parent_death_signal(sig: int) -> None:
    _check(_libc.prctl(ctypes.c_int(PR_SET_PDEATHSIG), ctypes.c_ulong(sig), 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")


def limit_capabilities(keep: list[int], last_cap: int = 40) -> None:
    """Drop every capability not in ``keep`` from the bounding set: after exec, root holds only ``keep``."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last_cap = int(f.read())
    except OSError:
        pass
    wanted = set(keep)
    for cap in range(last_cap + 1):
        if cap not in wanted:
            _check(_libc.prctl(ctypes.c_int(PR_CAPBSET_DROP), ctypes.c_ulong(cap), 0, 0, 0), f"drop capability {cap}")


def sethostname(name: str) -> None:
    raw = name.encode()
    _check(_libc.sethostname(raw, ctypes.c_size_t(len(raw))), "sethostname")


def link_up(name: str) -> None:
    """Set interface ``name`` up in the caller's network namespace (SIOCGIFFLAGS/SIOCSIFFLAGS, no ip(8) fork)."""
    import fcntl
    import socket
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sh", name.encode(), 0)
        flags = struct.unpack("16sh", fcntl.ioctl(s.fileno(), 0x8913, req))[1]
        fcntl.ioctl(s.fileno(), 0x8914, struct.pack("16sh", name.encode(), flags | 0x1))


def same_ns(pid: int, kind: str) -> bool:
    """True when process ``pid`` shares namespace ``kind`` (net, ipc, uts, pid, mnt) with the caller."""
    try:
        return os.readlink(f"/proc/{pid}/ns/{kind}") == os.readlink(f"/proc/self/ns/{kind}")
    except OSError:
        return False


def proc_start_time(pid: int) -> int | None:
    """Start time in clock ticks since boot (field 22 of /proc/<pid>/stat): with the PID, a process identity."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # the command name (field 2) may contain spaces and parentheses: split after its closing parenthesis
    rest = data[data.rindex(b")") + 2:].split()
    return int(rest[19])


def alive(pid: int, start_time: int | None) -> bool:
    """The process ``pid`` still exists and is the same one (not a reused PID); zombies count as gone."""
    if pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return False
    rest = data[data.rindex(b")") + 2:].split()
    if rest[0] in (b"Z", b"X"):
        return False
    return start_time is None or int(rest[19]) == start_time


def resolve_in_root(root: str, path: str) -> str:
    """``path`` inside the directory tree ``root`` with every symlink resolved relative to ``root`` (an absolute
    link target never escapes to the caller's root), as the container itself would see it."""
    cur = root
    for part in [p for p in path.split("/") if p and p != "."]:
        if part == "..":
            cur = os.path.dirname(cur) if cur != root else root
            continue
        nxt = os.path.join(cur, part)
        hops = 0
        while os.path.islink(nxt) and hops < 40:
            target = os.readlink(nxt)
            nxt = os.path.normpath(os.path.join(root if target.startswith("/") else cur, target.lstrip("/")))
            if not (nxt + "/").startswith(root.rstrip("/") + "/"):
                nxt = root
            hops += 1
        cur = nxt
    return cur
