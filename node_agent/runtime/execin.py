"""Run a command inside a running container: ``python -S -m node_agent.runtime.execin SPEC_JSON -- CMD...``.

SPEC_JSON: {"pid": init pid, "ns": ["ipc", "uts", "net", "pid", "mnt"], "cgroup_procs": [...], "uid", "gid",
"cwd", "caps": [numbers]}. Joins the container's cgroups and namespaces (the mount namespace last: entering it moves
root and cwd to the container's root), forks (a PID namespace applies to children), and the child drops to the
container's capability bounding set and user, changes to its working dir and execs the command with the inherited
environment and stdio. The parent waits and exits with the child's status (128 + signal when killed), so the
caller sees the command's exit code; signals it receives are passed on to the command.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import warnings  # noqa: F401  os.execvp imports it lazily, and after setns the host's stdlib is out of reach

from node_agent.runtime import nsutil

_FLAGS = {"ipc": nsutil.CLONE_NEWIPC, "uts": nsutil.CLONE_NEWUTS, "net": nsutil.CLONE_NEWNET,
          "pid": nsutil.CLONE_NEWPID, "mnt": nsutil.CLONE_NEWNS}


def main() -> int:
    spec = json.loads(sys.argv[1])
    cmd = sys.argv[3:]
    for f in spec["cgroup_procs"]:
        with open(f, "w") as fh:
            fh.write(str(os.getpid()))
    pid = spec["pid"]
    # open every namespace first: after entering the mount namespace, /proc/<pid> may no longer be reachable
    fds = [(os.open(f"/proc/{pid}/ns/{k}", os.O_RDONLY | os.O_CLOEXEC), _FLAGS[k]) for k in spec["ns"]]
    for fd, flag in fds:
        nsutil.setns_fd(fd, flag)
        os.close(fd)
    child = os.fork()
    if child == 0:
        try:
            try:
                os.chdir(spec["cwd"] or "/")
            except OSError:
                os.chdir("/")
            nsutil.limit_capabilities(spec["caps"])
            os.setgroups([])
            os.setgid(spec["gid"])
            os.setuid(spec["uid"])
            os.execvp(cmd[0], cmd)
        except OSError as e:
            sys.stderr.write(f"exec {cmd[0]}: {e.strerror}\n")
            os._exit(127 if isinstance(e, FileNotFoundError) else 126)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: os.kill(child, s))
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main())
