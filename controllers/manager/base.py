"""Base of the manager's controllers: a named Controller (queue + workers) wired to the shared Context."""

from __future__ import annotations

import asyncio
from typing import Any

from controllers.manager.context import Context
from controllers.manager.executor import Executor
from controllers.runtime.cache import object_key
from controllers.runtime.controller import Controller
from controllers.runtime.expectations import Expectations

Obj = dict[str, Any]


class Base:
    name = "base"
    component = "controller-manager"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.expectations = Expectations(ctx.monotonic)
        self.recorder = ctx.recorder(self.component)
        self.executor = Executor(ctx.client, self.recorder, self.expectations)
        self.controller = Controller(self.name, self.reconcile, workers=ctx.options.workers)
        self.setup()

    def setup(self) -> None:
        """Register informer handlers (they only enqueue)."""

    def enqueue(self, obj: Obj | None) -> None:
        if obj is not None:
            self.controller.enqueue(object_key(obj))

    def enqueue_key(self, key: str) -> None:
        self.controller.enqueue(key)

    async def reconcile(self, key: str) -> float | None:
        raise NotImplementedError

    async def run(self) -> None:
        await asyncio.gather(self.controller.run(), *self.background())

    def background(self) -> list[Any]:
        """Extra periodic loops (coroutines) a controller needs (e.g. node monitoring)."""
        return []


def controller_ref(obj: Obj | None) -> Obj | None:
    if obj is None:
        return None
    return next((r for r in (obj.get("metadata") or {}).get("ownerReferences") or [] if r.get("controller")), None)


def owner_key(obj: Obj, kind: str) -> str | None:
    """``ns/name`` of the object's controller when it is of ``kind``."""
    ref = controller_ref(obj)
    if ref is None or ref.get("kind") != kind:
        return None
    ns = (obj.get("metadata") or {}).get("namespace")
    return f"{ns}/{ref['name']}" if ns else str(ref["name"])
