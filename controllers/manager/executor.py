"""Performs a reconcile Plan against the apiserver, in order.

- Pod creates for one owner go out in slow-start batches (1, 2, 4, ... as the ReplicaSet controller's
  slowStartBatch): a failing batch stops the rest, so a broken template does not produce hundreds of errors.
- Creates/deletes tagged with an expectation key are recorded in ``Expectations`` before they are sent, and
  un-counted when they fail, so the owner is not re-synced from a cache that has not seen them yet.
- AlreadyExists on create, NotFound on delete/patch and Conflict on status writes are expected races: the
  next reconcile (triggered by the watch) sees the truth. Other errors propagate, so the key is retried.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from controllers.logic.actions import Action, Create, Delete, Event, Patch, Plan, Update, UpdateStatus
from controllers.runtime.events import EventRecorder
from controllers.runtime.expectations import Expectations
from kemu.rest import AlreadyExists, ApiError, Conflict, NotFound, RestClient

log = logging.getLogger(__name__)
Obj = dict[str, Any]


class Executor:
    def __init__(self, client: RestClient, recorder: EventRecorder, expectations: Expectations | None = None):
        self.client = client
        self.recorder = recorder
        self.expectations = expectations
        self.written: dict[tuple[str, str, str], int] = {}

    async def run(self, plan: Plan) -> list[Obj]:
        """Execute; returns the objects created. Raises the first unexpected ApiError after finishing a batch."""
        created: list[Obj] = []
        acts = plan.actions
        i = 0
        self._expect(acts)
        while i < len(acts):
            a = acts[i]
            if isinstance(a, Create) and a.expectation:
                j = i
                while j < len(acts) and isinstance(acts[j], Create) and acts[j].expectation == a.expectation:  # type: ignore
                    j += 1
                created += await self._slow_start([c for c in acts[i:j] if isinstance(c, Create)])
                i = j
                continue
            if isinstance(a, Delete) and a.expectation:
                j = i
                while j < len(acts) and isinstance(acts[j], Delete) and acts[j].expectation == a.expectation:  # type: ignore
                    j += 1
                await asyncio.gather(*(self._one(d) for d in acts[i:j]))
                i = j
                continue
            obj = await self._one(a)
            if isinstance(a, Create) and obj is not None:
                created.append(obj)
            i += 1
        return created

    def _expect(self, acts: list[Action]) -> None:
        if self.expectations is None:
            return
        adds: dict[str, int] = {}
        dels: dict[str, set[str]] = {}
        for a in acts:
            if isinstance(a, Create) and a.expectation:
                adds[a.expectation] = adds.get(a.expectation, 0) + 1
            elif isinstance(a, Delete) and a.expectation:
                dels.setdefault(a.expectation, set()).add(a.uid)
        for k in set(adds) | set(dels):
            self.expectations.expect(k, adds.get(k, 0), dels.get(k, set()))

    async def _slow_start(self, creates: list[Create]) -> list[Obj]:
        created: list[Obj] = []
        batch = 1
        pos = 0
        while pos < len(creates):
            chunk = creates[pos:pos + batch]
            results = await asyncio.gather(*(self.client.create(c.res, c.obj) for c in chunk),
                                           return_exceptions=True)
            failed: BaseException | None = None
            for c, r in zip(chunk, results, strict=True):
                if isinstance(r, BaseException):
                    failed = failed or r
                    self._unexpect_add(c.expectation)
                    owner = _owner_stub(c.obj)
                    if owner is not None and isinstance(r, ApiError):
                        self.recorder.emit(owner, "Warning", "FailedCreate", f"Error creating: {r.message}")
                else:
                    created.append(r)
                    owner = _owner_stub(r)
                    if owner is not None and r.get("kind", "Pod") == "Pod":
                        self.recorder.emit(owner, "Normal", "SuccessfulCreate",
                                           f"Created pod: {r['metadata']['name']}")
            pos += len(chunk)
            if failed is not None:
                for c in creates[pos:]:
                    self._unexpect_add(c.expectation)
                if isinstance(failed, ApiError):
                    raise failed
                raise failed
            batch *= 2
        return created

    def _unexpect_add(self, key: str) -> None:
        if self.expectations is not None and key:
            self.expectations.observe_add(key)

    def _remember(self, obj: Any) -> None:
        """Note the resourceVersion our write produced, so callers can wait for their cache to catch up."""
        if isinstance(obj, dict):
            md = obj.get("metadata") or {}
            rv = md.get("resourceVersion")
            if rv and str(rv).isdigit() and obj.get("kind"):
                self.written[(str(obj["kind"]), str(md.get("namespace") or ""), str(md.get("name")))] = int(rv)
                if len(self.written) > 10000:  # bounded: forget the oldest half
                    for k in list(self.written)[:5000]:
                        del self.written[k]

    def stale(self, obj: Obj | None) -> bool:
        """True when ``obj`` (from a cache) is older than what we last wrote to it (RVs are etcd revisions in
        this apiserver, so they order; anything else is treated as fresh)."""
        if obj is None:
            return False
        md = obj.get("metadata") or {}
        want = self.written.get((str(obj.get("kind") or ""), str(md.get("namespace") or ""), str(md.get("name"))))
        rv = str(md.get("resourceVersion") or "")
        return want is not None and rv.isdigit() and int(rv) < want

    async def _one(self, a: Action) -> Obj | None:
        out = await self._one_inner(a)
        self._remember(out)
        return out

    async def _one_inner(self, a: Action) -> Obj | None:
        try:
            if isinstance(a, Create):
                return await self.client.create(a.res, a.obj)
            if isinstance(a, Patch):
                return await self.client.patch(a.res, a.name, a.body, a.namespace, a.patch_type,
                                               subresource=a.subresource)
            if isinstance(a, Delete):
                try:
                    await self.client.delete(a.res, a.name, a.namespace, propagation_policy=a.propagation,
                                             preconditions={"uid": a.uid} if a.uid else None)
                except (NotFound, Conflict):
                    if self.expectations is not None and a.expectation:
                        self.expectations.observe_delete(a.expectation, a.uid)
                return None
            if isinstance(a, UpdateStatus):
                return await self.client.update_status(a.res, a.obj)
            if isinstance(a, Update):
                return await self.client.update(a.res, a.obj)
            if isinstance(a, Event):
                self.recorder.emit(a.obj, a.type, a.reason, a.message)
                return None
        except (AlreadyExists, NotFound):
            return None
        return None


def _owner_stub(pod: Obj) -> Obj | None:
    md = pod.get("metadata") or {}
    ref = next((r for r in md.get("ownerReferences") or [] if r.get("controller")), None)
    if ref is None:
        return None
    return {"apiVersion": ref.get("apiVersion", ""), "kind": ref.get("kind", ""),
            "metadata": {"name": ref.get("name", ""), "namespace": md.get("namespace"), "uid": ref.get("uid", "")}}

