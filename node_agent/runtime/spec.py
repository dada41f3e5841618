"""Pure decisions for a container's process: argv, environment, user, working dir, /etc files.

Kubernetes' rules for argv: no command and no args -> image Entrypoint + Cmd; command only -> command; args only ->
Entrypoint + args; both -> command + args. Environment: the image's, overridden key by key by the container's.
User: CRI run_as_user/run_as_group win; else the image's User (``uid``, ``uid:gid``, or a name looked up in the
image's /etc/passwd); a uid without a group gets the passwd group, else 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class SpecError(ValueError):
    pass


def argv(command: Sequence[str], args: Sequence[str], entrypoint: Sequence[str], cmd: Sequence[str]) -> list[str]:
    if command:
        out = [*command, *args]
    elif args:
        out = [*entrypoint, *args]
    else:
        out = [*entrypoint, *cmd]
    if not out:
        raise SpecError("no command specified: neither the container nor the image names a command")
    return out


def environment(image_env: Sequence[str], envs: Sequence[tuple[str, str]]) -> list[str]:
    merged: dict[str, str] = {}
    for e in image_env:
        k, _, v = e.partition("=")
        merged[k] = v
    for k, v in envs:
        merged[k] = v
    if "PATH" not in merged:
        merged["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    return [f"{k}={v}" for k, v in merged.items()]


def parse_passwd(text: str) -> dict[str, tuple[int, int]]:
    out = {}
    for line in text.splitlines():
        f = line.split(":")
        if len(f) >= 4 and f[2].isdigit() and f[3].isdigit():
            out[f[0]] = (int(f[2]), int(f[3]))
    return out


def parse_group(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        f = line.split(":")
        if len(f) >= 3 and f[2].isdigit():
            out[f[0]] = int(f[2])
    return out


def user(run_as_user: int | None, run_as_group: int | None, image_user: str,
         passwd: Mapping[str, tuple[int, int]], groups: Mapping[str, int]) -> tuple[int, int]:
    uid, gid = 0, 0
    name, _, grp = image_user.partition(":")
    if name:
        if name.isdigit():
            uid = int(name)
            gid = next((g for u, g in passwd.values() if u == uid), 0)
        elif name in passwd:
            uid, gid = passwd[name]
        else:
            raise SpecError(f"unable to find user {name}: no matching entries in passwd file")
    if grp:
        if grp.isdigit():
            gid = int(grp)
        elif grp in groups:
            gid = groups[grp]
        else:
            raise SpecError(f"unable to find group {grp}: no matching entries in group file")
    if run_as_user is not None:
        uid = run_as_user
        if run_as_group is None and not grp:
            gid = next((g for u, g in passwd.values() if u == uid), 0)
    if run_as_group is not None:
        gid = run_as_group
    return uid, gid


def hosts_file(hostname: str, ip: str) -> str:
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
             "fe00::0\tip6-localnet", "fe00::0\tip6-mcastprefix", "fe00::1\tip6-allnodes", "fe00::2\tip6-allrouters"]
    if ip:
        lines.append(f"{ip}\t{hostname}")
    else:
        lines[0] += f"\t{hostname}"
    return "\n".join(lines) + "\n"


def resolv_conf(servers: Sequence[str], searches: Sequence[str], options: Sequence[str], host_resolv: str) -> str:
    """The pod's resolv.conf from its DNS config; without servers, the node's own (as dnsPolicy Default)."""
    if not servers:
        return host_resolv
    out = [f"nameserver {s}" for s in servers]
    if searches:
        out.append("search " + " ".join(searches))
    if options:
        out.append("options " + " ".join(options))
    return "\n".join(out) + "\n"


CAPS = ("CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
        "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
        "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
        "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
        "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
        "CHECKPOINT_RESTORE")  # index = capability number
# what containerd/Docker grant a non-privileged container
DEFAULT_CAPS = frozenset({"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
                          "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"})


def capabilities(privileged: bool, add: Sequence[str], drop: Sequence[str]) -> list[int]:
    """Capability numbers the container keeps (its bounding set): defaults, plus ``add``, minus ``drop``; names
    with or without ``CAP_``, ``ALL`` allowed; privileged keeps everything."""
    if privileged:
        return list(range(len(CAPS)))

    def norm(names: Sequence[str]) -> set[str]:
        out = set()
        for n in names:
            u = n.upper().removeprefix("CAP_")
            if u == "ALL":
                out |= set(CAPS)
            elif u in CAPS:
                out.add(u)
            else:
                raise SpecError(f"unknown capability {n!r}")
        return out
    keep = (set(DEFAULT_CAPS) | norm(add)) - norm(drop)
    return sorted(CAPS.index(c) for c in keep)
