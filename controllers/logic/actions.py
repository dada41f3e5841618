"""The actions a reconcile decision may ask for; ``controllers.manager.executor`` performs them in order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kemu.rest import Resource

Obj = dict[str, Any]


@dataclass(frozen=True)
class Create:
    res: Resource
    obj: Obj
    expectation: str = ""  # key of the owner whose expectations count this create


@dataclass(frozen=True)
class Patch:
    res: Resource
    namespace: str
    name: str
    body: Any
    patch_type: str = "merge"
    subresource: str | None = None


@dataclass(frozen=True)
class Delete:
    res: Resource
    namespace: str
    name: str
    uid: str = ""
    propagation: str | None = None
    expectation: str = ""


@dataclass(frozen=True)
class UpdateStatus:
    res: Resource
    obj: Obj


@dataclass(frozen=True)
class Update:
    res: Resource
    obj: Obj


@dataclass(frozen=True)
class Event:
    obj: Obj
    type: str
    reason: str
    message: str


Action = Create | Patch | Delete | UpdateStatus | Update | Event


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    requeue_after_s: float | None = None

    def add(self, a: Action) -> None:
        self.actions.append(a)

    def requeue(self, after_s: float) -> None:
        self.requeue_after_s = after_s if self.requeue_after_s is None else min(self.requeue_after_s, after_s)
