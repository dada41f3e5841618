"""Startup, liveness and readiness probes as a pure state machine (the executor only runs the checks).

One ``ProbeState`` per (container id, probe kind); a new container id means a new state. Contract, as the kubelet:
- Initial result: readiness Failure (not ready), liveness Success, startup Unknown (not started).
- Nothing runs before ``initialDelaySeconds`` have passed since the container started; then a check is due every
  ``periodSeconds``. Liveness and readiness do not run until the startup probe (if any) has succeeded; the startup
  probe stops after its first success.
- The result flips to Success after ``successThreshold`` consecutive successes and to Failure after
  ``failureThreshold`` consecutive failures (defaults: period 10 s, timeout 1 s, success 1, failure 3).
- A failed liveness or startup result means "kill and restart the container" (``should_kill``).
``resolve_handler`` turns the spec's exec/httpGet/tcpSocket/grpc into a ``ProbeHandler`` with named ports resolved
against the container's ports and the pod IP as default host.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

ProbeKind = Literal["startup", "liveness", "readiness"]
Result = Literal["success", "failure", "unknown"]

SPEC_KEY: dict[str, str] = {"startup": "startupProbe", "liveness": "livenessProbe", "readiness": "readinessProbe"}


class ProbeSpecError(ValueError):
    pass


@dataclass(frozen=True)
class ProbeHandler:
    kind: Literal["exec", "http", "tcp", "grpc"]
    command: tuple[str, ...] = ()
    host: str = ""
    port: int = 0
    path: str = "/"
    scheme: str = "HTTP"
    headers: tuple[tuple[str, str], ...] = ()
    service: str = ""


@dataclass(frozen=True)
class ProbeConfig:
    kind: ProbeKind
    handler: ProbeHandler
    initial_delay_s: float = 0
    period_s: float = 10
    timeout_s: float = 1
    success_threshold: int = 1
    failure_threshold: int = 3


def _port(value: object, container: Mapping[str, Any]) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    s = str(value)
    if s.isdigit():
        return int(s)
    for p in container.get("ports") or []:
        if p.get("name") == s:
            return int(p["containerPort"])
    raise ProbeSpecError(f"port {s!r} is not a named port of container {container.get('name')!r}")


def resolve_handler(probe: Mapping[str, Any], container: Mapping[str, Any], pod_ip: str) -> ProbeHandler:
    if "exec" in probe:
        return ProbeHandler("exec", command=tuple(str(a) for a in (probe["exec"].get("command") or [])))
    if "httpGet" in probe:
        h = probe["httpGet"]
        headers = tuple((str(x.get("name")), str(x.get("value", ""))) for x in h.get("httpHeaders") or [])
        return ProbeHandler("http", host=str(h.get("host") or pod_ip), port=_port(h.get("port"), container),
                            path=str(h.get("path") or "/"), scheme=str(h.get("scheme") or "HTTP").upper(),
                            headers=headers)
    if "tcpSocket" in probe:
        t = probe["tcpSocket"]
        return ProbeHandler("tcp", host=str(t.get("host") or pod_ip), port=_port(t.get("port"), container))
    if "grpc" in probe:
        g = probe["grpc"]
        return ProbeHandler("grpc", host=pod_ip, port=int(g.get("port", 0)), service=str(g.get("service") or ""))
    raise ProbeSpecError(f"probe of container {container.get('name')!r} has no handler")


def probe_config(kind: ProbeKind, container: Mapping[str, Any], pod_ip: str) -> ProbeConfig | None:
    probe = container.get(SPEC_KEY[kind])
    if not probe:
        return None
    success = int(probe.get("successThreshold") or 1)
    if kind != "readiness":
        success = 1  # the API requires 1 for liveness and startup
    return ProbeConfig(
        kind=kind,
        handler=resolve_handler(probe, container, pod_ip),
        initial_delay_s=float(probe.get("initialDelaySeconds") or 0),
        period_s=float(probe.get("periodSeconds") or 10),
        timeout_s=float(probe.get("timeoutSeconds") or 1),
        success_threshold=success,
        failure_threshold=int(probe.get("failureThreshold") or 3),
    )


_INITIAL: dict[str, Result] = {"startup": "unknown", "liveness": "success", "readiness": "failure"}


class ProbeState:
    def __init__(self, config: ProbeConfig, container_started_at: float) -> None:
        self.config = config
        self.started_at = container_started_at
        self.result: Result = _INITIAL[config.kind]
        self.last_run: float | None = None
        self._successes = 0
        self._failures = 0
        self.done = False  # startup probe finished with success

    def next_due(self) -> float | None:
        """Absolute time the next check is due, None when this probe no longer runs."""
        if self.done:
            return None
        first = self.started_at + self.config.initial_delay_s
        if self.last_run is None:
            return first
        return max(first, self.last_run + self.config.period_s)

    def due(self, now: float) -> bool:
        t = self.next_due()
        return t is not None and now >= t

    def record(self, ok: bool, now: float) -> bool:
        """Feed one check result; returns True when the probe's result changed."""
        self.last_run = now
        before = self.result
        if ok:
            self._successes += 1
            self._failures = 0
            if self._successes >= self.config.success_threshold:
                self.result = "success"
                if self.config.kind == "startup":
                    self.done = True
        else:
            self._failures += 1
            self._successes = 0
            if self._failures >= self.config.failure_threshold:
                self.result = "failure"
        return self.result != before

    @property
    def consecutive_failures(self) -> int:
        return self._failures


@dataclass
class ContainerProbes:
    """The three probes of one running container and what they mean for the kubelet."""

    container_id: str
    startup: ProbeState | None
    liveness: ProbeState | None
    readiness: ProbeState | None

    @classmethod
    def for_container(cls, container: Mapping[str, Any], container_id: str, started_at: float,
                      pod_ip: str) -> ContainerProbes:
        def mk(kind: ProbeKind) -> ProbeState | None:
            cfg = probe_config(kind, container, pod_ip)
            return None if cfg is None else ProbeState(cfg, started_at)
        return cls(container_id, mk("startup"), mk("liveness"), mk("readiness"))

    @property
    def started(self) -> bool:
        return self.startup is None or self.startup.result == "success"

    @property
    def ready(self) -> bool:
        return self.started and (self.readiness is None or self.readiness.result == "success")

    def should_kill(self) -> str | None:
        """A message when a failed startup/liveness probe requires a restart, else None."""
        if self.startup is not None and self.startup.result == "failure":
            return "Startup probe failed"
        if self.started and self.liveness is not None and self.liveness.result == "failure":
            return "Liveness probe failed"
        return None

    def due(self, now: float) -> list[ProbeState]:
        """Probes to run now; liveness/readiness wait for the startup probe."""
        out: list[ProbeState] = []
        if self.startup is not None and not self.startup.done:
            if self.startup.due(now):
                out.append(self.startup)
            return out
        for p in (self.liveness, self.readiness):
            if p is not None and p.due(now):
                out.append(p)
        return out

    def next_due(self) -> float | None:
        if self.startup is not None and not self.startup.done:
            return self.startup.next_due()
        times = [t for p in (self.liveness, self.readiness) if p is not None and (t := p.next_due()) is not None]
        return min(times, default=None)
