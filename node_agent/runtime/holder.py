"""The sandbox holder: a pause-like process that owns a pod's network, IPC and UTS namespaces.

``python -m node_agent.runtime.holder --hostname NAME [--host-network] [--share-pid] [--sandbox-id ID]``

Unshares IPC and UTS (and the network unless ``--host-network``; a host-network pod keeps the node's network and
hostname), sets the hostname, brings ``lo`` up, and with ``--share-pid`` forks a child that is PID 1 of a new PID
namespace shared by the pod's containers (it reaps orphans). Prints ``ready <holder pid> <pid-ns pid>`` on stdout,
closes it, then sleeps until SIGTERM/SIGINT, when it kills its child and exits 0. The namespaces live exactly as long
as this process (and the containers that joined them).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

from node_agent.runtime import nsutil


def _pid1_loop() -> None:
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    while True:
        try:
            os.wait()
        except ChildProcessError:
            signal.pause()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--hostname", required=True)
    p.add_argument("--host-network", action="store_true")
    p.add_argument("--share-pid", action="store_true")
    p.add_argument("--sandbox-id", default="")  # unused here: names the process for the runtime's orphan search
    a = p.parse_args(argv)
    flags = nsutil.CLONE_NEWIPC
    if not a.host_network:
        flags |= nsutil.CLONE_NEWNET | nsutil.CLONE_NEWUTS
    nsutil.unshare(flags)
    if not a.host_network:
        nsutil.sethostname(a.hostname[:64])
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
    child = 0
    if a.share_pid:
        nsutil.unshare(nsutil.CLONE_NEWPID)
        child = os.fork()
        if child == 0:
            try:
                _pid1_loop()
            finally:
                os._exit(0)
    stop = False

    def on_term(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    sys.stdout.write(f"ready {os.getpid()} {child or os.getpid()}\n")
    sys.stdout.flush()
    os.close(1)
    os.open(os.devnull, os.O_WRONLY)
    while not stop:
        signal.pause()
    if child:
        try:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
