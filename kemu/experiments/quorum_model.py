"""Quorum arithmetic and the experiment's table (pure).

For a Raft cluster of n voting members, a write (and a linearizable read) needs a majority: quorum(n) = n // 2 + 1,
so n members tolerate (n - 1) // 2 losses. A serializable read is answered from one member's local state, so it works
while any member is up (possibly stale: on a minority side it returns the last value that member applied).
"""

from __future__ import annotations

from dataclasses import dataclass


def quorum(n: int) -> int:
    return n // 2 + 1


def tolerated(n: int) -> int:
    return (n - 1) // 2


@dataclass(frozen=True)
class Expectation:
    writes: bool
    linearizable_reads: bool
    serializable_reads: bool


def expected(n: int, lost: int) -> Expectation:
    alive = n - lost
    majority = alive >= quorum(n)
    return Expectation(writes=majority, linearizable_reads=majority, serializable_reads=alive >= 1)


@dataclass(frozen=True)
class Observation:
    members: int
    lost: int
    leader_lost: bool
    writes: bool
    linearizable_reads: bool
    serializable_reads: bool
    serializable_value_is_last_write: bool
    election_s: float | None        # kill -> survivors agree on a new leader (None: no election needed / none won)
    write_error: str = ""           # what a refused write said (gRPC code: message)

    @property
    def matches(self) -> bool:
        exp = expected(self.members, self.lost)
        return (self.writes, self.linearizable_reads, self.serializable_reads) == (
            exp.writes, exp.linearizable_reads, exp.serializable_reads)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def markdown_table(rows: list[Observation]) -> str:
    head = ("| members | lost | quorum | writes | linearizable reads | serializable reads | election (s) "
            "| matches floor(n/2)+1 | refused write said |")
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        election = f"{r.election_s:.2f}" if r.election_s is not None else "-"
        ser = _yes(r.serializable_reads) + ("" if r.serializable_value_is_last_write or not r.serializable_reads
                                            else " (stale)")
        lines.append(f"| {r.members} | {r.lost} | {quorum(r.members)} | {_yes(r.writes)} | "
                     f"{_yes(r.linearizable_reads)} | {ser} | {election} | {'PASS' if r.matches else 'FAIL'} | "
                     f"{r.write_error or '-'} |")
    return "\n".join(lines)


@dataclass(frozen=True)
class PartitionObservation:
    """One side of a partition that isolates the old leader from the other members."""

    members: int
    side: str                       # "minority" (the isolated old leader) | "majority"
    side_size: int
    writes: bool
    linearizable_reads: bool
    serializable_reads: bool
    serializable_stale: bool        # the side's serializable read missed a write the other side acknowledged
    election_s: float | None        # majority side: partition -> new leader
    caught_up_after_heal: bool      # minority side: after healing, its serializable read shows the latest write

    @property
    def matches(self) -> bool:
        majority = self.side_size >= quorum(self.members)
        return (self.writes, self.linearizable_reads, self.serializable_reads) == (majority, majority, True)


def partition_table(rows: list[PartitionObservation]) -> str:
    lines = ["| members | side | size | writes | linearizable reads | serializable reads | election (s) "
             "| after heal | matches |", "|" + "---|" * 9]
    for r in rows:
        ser = _yes(r.serializable_reads) + (" (stale)" if r.serializable_stale else "")
        election = f"{r.election_s:.2f}" if r.election_s is not None else "-"
        heal = ("caught up" if r.caught_up_after_heal else "STALE") if r.side == "minority" else "-"
        lines.append(f"| {r.members} | {r.side} | {r.side_size} | {_yes(r.writes)} | {_yes(r.linearizable_reads)} "
                     f"| {ser} | {election} | {heal} | {'PASS' if r.matches else 'FAIL'} |")
    return "\n".join(lines)
