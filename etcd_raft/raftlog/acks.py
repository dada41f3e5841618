"""Which follower acknowledgements can be left out (pure: the caller passes the clock reading).

Under load about half of a leader's AppendEntries carry no entries, only a newer commit index (it sends one after
every commit so that followers apply at once). A success acknowledgement of such a message repeats what the leader
already knows: the follower's position is unchanged. AckMemory remembers, per leader connection, the last
position acknowledged (term, next index, when); an acknowledgement is redundant when it is a success for an
entry-less message, in the same term, at or below that position, and the last one went out less than quiet_s
ago. Everything else is sent, so:
- every acknowledgement that moves the leader's view of the follower (new entries, a rejection, a reset) goes out;
- a leader still hears from each live follower at least every quiet_s (heartbeats that are further apart than
  quiet_s are all answered), so its check that a majority is alive sees no difference;
- a dropped connection or a new term forgets the memory (the leader may have reset its view of us).
"""

from __future__ import annotations

from collections.abc import Hashable


class AckMemory:
    def __init__(self, quiet_s: float) -> None:
        self.quiet_s = quiet_s
        self._last: dict[Hashable, tuple[int, int, float]] = {}

    def redundant(self, node: Hashable, term: int, next_idx: int, now: float) -> bool:
        """True when a success acknowledgement of an entry-less AppendEntries may be left out."""
        last = self._last.get(node)
        return last is not None and last[0] == term and next_idx <= last[1] and now - last[2] < self.quiet_s

    def sent(self, node: Hashable, term: int, next_idx: int | None, success: bool, reset: bool,
             now: float) -> None:
        """Record an acknowledgement that went out (only plain successes are remembered)."""
        if success and not reset and next_idx is not None:
            self._last[node] = (term, next_idx, now)
        else:
            self._last.pop(node, None)

    def forget(self, node: Hashable) -> None:
        self._last.pop(node, None)
