"""The kubelet's runtime-operation metrics in Prometheus text form (pure; the /metrics route renders them).

``RuntimeOperations`` keeps, per CRI operation, the histogram the real kubelet exports as
``kubelet_runtime_operations_duration_seconds{operation_type=...}`` (plus ``kubelet_runtime_operations_total`` and
``kubelet_runtime_operations_errors_total``). Operation types are the kubelet's names, derived from the CRI method
(``RunPodSandbox`` -> ``run_podsandbox``, ``ImageStatus`` -> ``image_status``). Buckets are Prometheus' defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def operation_type(method: str) -> str:
    """CRI method name -> the kubelet's operation_type label."""
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", method).lower()
    return snake.replace("pod_sandbox", "podsandbox")


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * len(BUCKETS_S))
    total: int = 0
    sum_s: float = 0.0


@dataclass
class RuntimeOperations:
    ops: dict[str, _Histogram] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def observe(self, method: str, seconds: float, failed: bool = False) -> None:
        op = operation_type(method)
        h = self.ops.setdefault(op, _Histogram())
        h.total += 1
        h.sum_s += seconds
        for i, bound in enumerate(BUCKETS_S):
            if seconds <= bound:
                h.counts[i] += 1
        if failed:
            self.errors[op] = self.errors.get(op, 0) + 1

    def render(self) -> str:
        name = "kubelet_runtime_operations_duration_seconds"
        lines = [f"# HELP {name} Duration in seconds of runtime operations. Broken down by operation type.",
                 f"# TYPE {name} histogram"]
        for op in sorted(self.ops):
            h = self.ops[op]
            for bound, count in zip(BUCKETS_S, h.counts, strict=True):
                lines.append(f'{name}_bucket{{operation_type="{op}",le="{bound:g}"}} {count}')
            lines.append(f'{name}_bucket{{operation_type="{op}",le="+Inf"}} {h.total}')
            lines.append(f'{name}_sum{{operation_type="{op}"}} {h.sum_s!r}')
            lines.append(f'{name}_count{{operation_type="{op}"}} {h.total}')
        lines += ["# HELP kubelet_runtime_operations_total Cumulative number of runtime operations by operation type.",
                  "# TYPE kubelet_runtime_operations_total counter"]
        lines += [f'kubelet_runtime_operations_total{{operation_type="{op}"}} {self.ops[op].total}'
                  for op in sorted(self.ops)]
        lines += ["# HELP kubelet_runtime_operations_errors_total Cumulative number of runtime operation errors by "
                  "operation type.", "# TYPE kubelet_runtime_operations_errors_total counter"]
        lines += [f'kubelet_runtime_operations_errors_total{{operation_type="{op}"}} {n}'
                  for op, n in sorted(self.errors.items())]
        return "\n".join(lines) + "\n"
