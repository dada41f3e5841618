"""A CronJob on ``*/1 * * * *`` really fires every minute and keeps only its history limit (marked slow: it
waits for two schedule ticks)."""

from __future__ import annotations

import time

import pytest

from tests.integration.controllers.conftest import Cluster
from tests.support.procs import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_every_minute_with_history_limit(cluster: Cluster) -> None:
    c = cluster
    c.kubectl("create", "namespace", "tick")
    c.kubectl("apply", "-f", "-", input="""
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick, namespace: tick}
spec:
  schedule: "*/1 * * * *"
  successfulJobsHistoryLimit: 1
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: c, image: busybox, command: ["date"]}]
""")
    seen: set[str] = set()
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline and len(seen) < 2:
        for j in (c.rest.call("GET", "/apis/batch/v1/namespaces/tick/jobs") or {}).get("items") or []:
            seen.add(j["metadata"]["name"])
        time.sleep(0.5)
    assert len(seen) >= 2, f"expected two scheduled runs, saw {sorted(seen)}"
    assert all(n.startswith("tick-") and n[5:].isdigit() for n in seen)

    def finished_jobs() -> int:
        items = (c.rest.call("GET", "/apis/batch/v1/namespaces/tick/jobs") or {}).get("items") or []
        return sum(1 for j in items if not j["metadata"].get("deletionTimestamp")
                   and any(x["type"] == "Complete" for x in (j.get("status") or {}).get("conditions") or []))

    wait_for(lambda: finished_jobs() == 1, 30, 0.2, "history pruned to 1 successful job")
    cj = c.rest.call("GET", "/apis/batch/v1/namespaces/tick/cronjobs/tick")
    assert cj["status"]["lastScheduleTime"] and cj["status"]["lastSuccessfulTime"]
