"""Raft §5.3 for incoming AppendEntries, as a pure plan (the fix for pysyncobj's truncation defect).

pysyncobj deletes every local entry after prevLogIdx whenever its log is longer, even when those entries match
the leader's. Raft allows truncation only from the first entry whose term conflicts. plan_append() rewrites an
AppendEntries before pysyncobj sees it:
- the leading new entries that the local log already holds (same index, same term) are skipped, and prevLogIdx /
  prevLogTerm move up to the last of them, so pysyncobj truncates (if at all) exactly at the first conflict;
- when nothing new remains but the local log goes on past the new prevLogIdx (a stale or overlapping message, or a
  heartbeat with an old prevLogIdx), the log must be left alone: `hold` tells the adapter to keep pysyncobj from
  truncating or rolling back membership changes for this message.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AppendPlan:
    prev_idx: int
    prev_term: int
    skip: int          # leading new entries already in the local log
    hold: bool         # nothing to truncate: the local log is longer and consistent with everything sent


def plan_append(local: list[tuple[int, int]], prev_idx: int, prev_term: int,
                new: list[tuple[int, int]]) -> AppendPlan:
    """local: (index, term) of the local entries from prev_idx on (local[0] is prev_idx itself, if held);
    new: (index, term) of the message's entries, in order."""
    unchanged = AppendPlan(prev_idx, prev_term, 0, False)
    if not local or local[0] != (prev_idx, prev_term):
        return unchanged          # pysyncobj's own consistency check answers this one (reject / reset)
    terms = dict(local)
    skip = 0
    while skip < len(new) and terms.get(new[skip][0]) == new[skip][1]:
        skip += 1
    new_prev_idx, new_prev_term = new[skip - 1] if skip else (prev_idx, prev_term)
    nothing_left = skip == len(new)
    local_longer = local[-1][0] > new_prev_idx
    return AppendPlan(new_prev_idx, new_prev_term, skip, nothing_left and local_longer)
