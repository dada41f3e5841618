"""The Python sandbox holder (pods sharing one PID namespace; others use ``unshare``, see runtime.holder_argv).

``python -m node_agent.runtime.holder --hostname NAME [--host-network] [--share-pid] [--sandbox-id ID]``

Unshares IPC and UTS (and the network unless ``--host-network``; a host-network pod keeps the node's network and
hostname), sets the hostname, brings ``lo`` up, and with ``--share-pid`` forks a child that is PID 1 of a new PID
namespace shared by the pod's containers (it reaps orphans). Prints ``ready <holder pid> <pid-ns pid>`` on stdout,
closes it, then sleeps until SIGTERM/SIGINT, when it kills its child and exits 0. The namespaces live exactly as long
as this process (and the containers that joined them).
"""

from __future__ import annotations

import os
import signal
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
    # plain argv parsing: argparse alone costs this short-lived helper ~10 ms of start-up per pod
    args = list(sys.argv[1:] if argv is None else argv)
    opts = {"--hostname": "", "--sandbox-id": ""}
    flags_seen = set()
    while args:
        a = args.pop(0)
        if a in opts and args:
            opts[a] = args.pop(0)
        elif a in ("--host-network", "--share-pid"):
            flags_seen.add(a)
        else:
            print(f"holder: unknown argument {a!r}", file=sys.stderr)
            return 2
    host_network, share_pid, hostname = "--host-network" in flags_seen, "--share-pid" in flags_seen, opts["--hostname"]
    flags = nsutil.CLONE_NEWIPC
    if not host_network:
        flags |= nsutil.CLONE_NEWNET | nsutil.CLONE_NEWUTS
    nsutil.unshare(flags)
    if not host_network:
        nsutil.sethostname(hostname[:64])
        nsutil.link_up("lo")
    child = 0
    if share_pid:
        nsutil.unshare(nsutil.CLONE_NEWPID)
        child = os.fork()
        if child == 0:
            try:
                nsutil.set_parent_death_signal(signal.SIGKILL)  # the holder may be SIGKILLed: take the pod along
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
