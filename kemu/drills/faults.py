"""Store faults a drill can inject, and how to undo them (process signals and machine partitions).

Each fault is a pair of functions over a running StoreCluster: inject(victims) and heal(victims). Victims are
chosen by the drill (the leader, one follower, two members ...). Partitions need machines (netns, root).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass

from kemu.launcher import machines


@dataclass
class MemberHandle:
    name: str
    endpoint: str                      # host:port of its client URL
    pid: int
    machine: machines.Machine | None   # None on loopback
    address: str


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Callable[[list[MemberHandle], list[MemberHandle]], None]   # (victims, everyone)
    heal: Callable[[list[MemberHandle], list[MemberHandle]], None]
    needs_restart: bool                # healing means starting the victims' processes again


def _signal(victims: list[MemberHandle], sig: int) -> None:
    for v in victims:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(v.pid, sig)


def _nothing(victims: list[MemberHandle], everyone: list[MemberHandle]) -> None:
    return None


def _partition(victims: list[MemberHandle], everyone: list[MemberHandle]) -> None:
    for v in victims:
        if v.machine is None:
            raise RuntimeError("a partition needs machines: run as root (network namespaces)")
        machines.partition(v.machine, [m.address for m in everyone if m not in victims])


def _heal(victims: list[MemberHandle], everyone: list[MemberHandle]) -> None:
    for v in victims:
        if v.machine is not None:
            machines.heal(v.machine)


KILL = Fault("SIGKILL", lambda v, e: _signal(v, signal.SIGKILL), _nothing, needs_restart=True)
PAUSE = Fault("SIGSTOP", lambda v, e: _signal(v, signal.SIGSTOP), lambda v, e: _signal(v, signal.SIGCONT),
              needs_restart=False)
PARTITION = Fault("partition", _partition, _heal, needs_restart=False)
