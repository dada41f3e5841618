"""Lenient readers for request bodies: admission runs before validation (as in Kubernetes), so a field of the
wrong JSON type is read as empty here and left for validation to reject with its proper 422 message."""

from __future__ import annotations

from typing import Any


def obj(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def seq(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def dicts(v: Any) -> list[dict[str, Any]]:
    return [x for x in seq(v) if isinstance(x, dict)]


def strs(v: Any) -> list[str]:
    return [x for x in seq(v) if isinstance(x, str)]


def text(v: Any) -> str:
    return v if isinstance(v, str) else ""


def dig(v: Any, *keys: str) -> Any:
    """``v[k1][k2]...`` through dicts only; None when a step is missing or not a dict."""
    for k in keys:
        if not isinstance(v, dict):
            return None
        v = v.get(k)
    return v


def name_of(o: Any) -> str:
    return text(dig(o, "metadata", "name"))
