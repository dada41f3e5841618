"""CrashLoopBackOff: per-container restart back-off with the kubelet's timing.

Contract (the same as the kubelet's flowcontrol back-off):
- The first restart after an exit is immediate and arms a delay of ``initial_s`` (10 s).
- While an entry is armed, a container that exited at ``finished_at`` may restart only once
  ``now >= finished_at + delay``; each restart then doubles the delay, capped at ``max_s`` (300 s).
- An entry is forgotten (the next restart is immediate again) when the exit happened more than
  ``2 * max_s`` (10 min) after the last restart -- i.e. the container ran for 10 minutes.
Pure: callers pass ``now``; keys are opaque strings (pod uid + container name).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BackOffConfig:
    initial_s: float = 10.0
    max_s: float = 300.0

    @property
    def reset_after_s(self) -> float:
        return 2 * self.max_s


@dataclass
class _Entry:
    delay_s: float
    last_restart: float


class CrashLoopBackOff:
    def __init__(self, config: BackOffConfig | None = None) -> None:
        self.config = config or BackOffConfig()
        self._entries: dict[str, _Entry] = {}

    def _live(self, key: str, finished_at: float) -> _Entry | None:
        e = self._entries.get(key)
        if e is not None and finished_at - e.last_restart > self.config.reset_after_s:
            return None
        return e

    def remaining_s(self, key: str, finished_at: float, now: float) -> float:
        """Seconds the container must still wait before restarting (0 = may restart now)."""
        e = self._live(key, finished_at)
        if e is None:
            return 0.0
        return max(0.0, finished_at + e.delay_s - now)

    def delay_s(self, key: str) -> float:
        e = self._entries.get(key)
        return 0.0 if e is None else e.delay_s

    def record_restart(self, key: str, finished_at: float, now: float) -> None:
        """Note that the container is being restarted now; arms/doubles the next delay."""
        e = self._live(key, finished_at)
        if e is None:
            self._entries[key] = _Entry(self.config.initial_s, now)
        else:
            e.delay_s = min(self.config.max_s, e.delay_s * 2)
            e.last_restart = now

    def forget(self, prefix: str) -> None:
        """Drop every entry whose key starts with prefix (a pod that is gone)."""
        for k in [k for k in self._entries if k.startswith(prefix)]:
            del self._entries[k]


def backoff_key(pod_uid: str, container_name: str) -> str:
    return f"{pod_uid}/{container_name}"
