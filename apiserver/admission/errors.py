"""``AdmissionError``: a rejected request, carrying the HTTP code, Status reason and message Kubernetes would send.

It is an ``apiserver.errors.ApiError``, so the HTTP layer renders it as the ``Status`` like any other API error.
"""

from __future__ import annotations

from typing import Any

from apiserver.errors import ApiError


class AdmissionError(ApiError):
    """``code``/``reason``/``message`` map 1:1 onto a ``Status``; ``details`` (optional) is its ``details`` field
    (``name``, ``group``, ``kind``, ``causes``)."""

    def __repr__(self) -> str:
        return f"AdmissionError({self.code}, {self.reason!r}, {self.message!r})"


def qualified(resource: str, group: str = "") -> str:
    return f"{resource}.{group}" if group else resource


def forbidden(resource: str, name: str, detail: str, group: str = "",
              causes: list[dict[str, str]] | None = None) -> AdmissionError:
    """apierrors.NewForbidden: ``<resource>[.<group>] ["<name>"] is forbidden: <detail>``."""
    q = qualified(resource, group)
    message = f'{q} "{name}" is forbidden: {detail}' if name else f"{q} is forbidden: {detail}"
    details: dict[str, Any] = {"name": name} if name else {}
    if group:
        details["group"] = group
    details["kind"] = resource
    if causes:
        details["causes"] = causes
    return AdmissionError(403, "Forbidden", message, details)


def not_found(resource: str, name: str, group: str = "") -> AdmissionError:
    details: dict[str, Any] = {"name": name, "group": group, "kind": resource} if group else \
        {"name": name, "kind": resource}
    return AdmissionError(404, "NotFound", f'{qualified(resource, group)} "{name}" not found', details)


def aggregate(messages: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message as is, several deduplicated inside brackets."""
    seen: list[str] = []
    for m in messages:
        if m not in seen:
            seen.append(m)
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"
