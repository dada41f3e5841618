"""Job and CronJob controllers: owner-indexed caches in, ``logic.job`` / ``logic.cronjob`` decisions out."""

from __future__ import annotations

from typing import Any

from controllers.logic import cronjob as cron_logic
from controllers.logic import job as job_logic
from controllers.manager.base import Base, owner_key
from kemu.rest import CRONJOBS, JOBS, PODS

Obj = dict[str, Any]


class JobController(Base):
    name = "job"
    component = "job-controller"

    def setup(self) -> None:
        self.jobs = self.ctx.informer(JOBS)
        self.pods = self.ctx.informer(PODS)
        self.jobs.add_handler(lambda t, o, n: self.enqueue(n or o))
        self.pods.add_handler(self._on_pod)

    def _on_pod(self, typ: str, old: Obj | None, new: Obj | None) -> None:
        pod = new or old
        assert pod is not None
        key = owner_key(pod, "Job")
        if key is None:
            return
        if typ == "ADDED":
            self.expectations.observe_add(key)
        elif typ == "DELETED":
            self.expectations.observe_delete(key, (pod.get("metadata") or {}).get("uid", ""))
        self.enqueue_key(key)

    async def reconcile(self, key: str) -> float | None:
        job = self.jobs.cache.get(key)
        if job is None:
            self.expectations.forget(key)
            return None
        if not self.expectations.satisfied(key):
            return 1.0
        uid = (job.get("metadata") or {}).get("uid", "")
        pods = [p for p in self.pods.cache.by_index("owner", uid) if owner_key(p, "Job") == key]
        plan = job_logic.decide(job, pods, self.ctx.now())
        await self.executor.run(plan)
        return plan.requeue_after_s


class CronJobController(Base):
    name = "cronjob"
    component = "cronjob-controller"

    def setup(self) -> None:
        self.cjs = self.ctx.informer(CRONJOBS)
        self.jobs = self.ctx.informer(JOBS)
        self.cjs.add_handler(lambda t, o, n: self.enqueue(n or o))
        self.jobs.add_handler(self._on_job)

    def _on_job(self, typ: str, old: Obj | None, new: Obj | None) -> None:
        j = new or old
        assert j is not None
        key = owner_key(j, "CronJob")
        if key is not None:
            self.enqueue_key(key)

    async def reconcile(self, key: str) -> float | None:
        cj = self.cjs.cache.get(key)
        if cj is None:
            return None
        jobs = [j for j in self.jobs.cache.by_index("owner", (cj.get("metadata") or {}).get("uid", ""))
                if owner_key(j, "CronJob") == key]
        plan = cron_logic.decide(cj, jobs, self.ctx.now())
        await self.executor.run(plan)
        return plan.requeue_after_s
