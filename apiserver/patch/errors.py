"""Typed errors of the patch library, carrying what the real apiserver puts in its ``Status``.

``str(e)`` is always the Status message. ``code``/``reason`` say which Status to build (most patch failures are
422 Invalid; malformed patch documents are 400 BadRequest). ``detail`` keeps the library-level reason (the real
apiserver drops it for JSON-patch application errors, whose Status message is the generic 422 sentence).
"""

from __future__ import annotations

import json

# The message the real apiserver sends for errors built with NewGenericServerResponse(422, ...):
# JSON-patch application failures and some strategic-merge-patch failures.
GENERIC_422 = "the server rejected our request due to an error in our request"


class PatchError(Exception):
    """A patch could not be applied. ``str(e)`` is the Status message."""

    def __init__(self, message: str, *, code: int = 422, reason: str = "Invalid", detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason
        self.detail = detail or message

    def __str__(self) -> str:
        return self.message


def invalid(detail: str) -> PatchError:
    """422 with the generic message (NewGenericServerResponse), keeping the specific reason in ``detail``."""
    return PatchError(GENERIC_422, code=422, reason="Invalid", detail=detail)


def bad_request(message: str) -> PatchError:
    return PatchError(message, code=400, reason="BadRequest")


class ApplyConflict(Exception):
    """Server-side apply found fields owned by other managers with different values.

    ``conflicts`` lists (manager name, field path) pairs, e.g. ("kubectl-client-side-apply", ".spec.replicas").
    ``described`` lists (manager as the real apiserver prints it, path): ``"kubectl" using apps/v1`` for an Update
    manager, ``"kubectl"`` for an Apply manager (quotes included). ``message`` and ``causes`` are ready for the 409
    Status exactly as Kubernetes words them; ``str(e)`` is ``message``.
    """

    def __init__(self, conflicts: list[tuple[str, str, str, str, str]]) -> None:
        # each entry: (manager, operation, apiVersion, subresource, path)
        self.conflicts: list[tuple[str, str]] = [(m, p) for m, _, _, _, p in conflicts]
        self.described: list[tuple[str, str]] = [(describe_manager(m, op, av, sub), p)
                                                 for m, op, av, sub, p in conflicts]
        self.message = conflict_message(self.described)
        self.causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {d}", "field": p}
                       for d, p in self.described]
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def describe_manager(manager: str, operation: str, api_version: str, subresource: str = "") -> str:
    """The manager as printed in conflict messages: Go's %q of the name, plus ``using <apiVersion>`` for Update
    managers (the manager identifier never carries a time, so no ``at <time>`` part)."""
    text = json.dumps(manager)
    if subresource:
        text += f" with subresource {json.dumps(subresource)}"
    if operation == "Update":
        text += f" using {api_version}"
    return text


def conflict_message(described: list[tuple[str, str]]) -> str:
    """'Apply failed with 1 conflict: conflict with "m": .spec.x' or, for several, grouped by sorted manager:
    'Apply failed with 2 conflicts: conflicts with "a":\\n- .x\\n- .y' ."""
    if len(described) == 1:
        who, path = described[0]
        return f"Apply failed with 1 conflict: conflict with {who}: {path}"
    by_manager: dict[str, list[str]] = {}
    for who, path in described:
        by_manager.setdefault(who, []).append(path)
    lines: list[str] = []
    for who in sorted(by_manager):
        lines.append(f"conflicts with {who}:")
        lines.extend(f"- {p}" for p in by_manager[who])
    return f"Apply failed with {len(described)} conflicts: " + "\n".join(lines)
