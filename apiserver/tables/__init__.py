"""Server-side table printing: what ``kubectl get`` shows, as ``meta.k8s.io/v1`` Table columns and cells.

Pure functions the apiserver's handlers call for ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``:

- ``column_definitions(group, resource)`` -> TableColumnDefinition dicts (name, type, format, description,
  priority), the real printers' columns; priority 1 columns are the ``-o wide`` ones.
- ``row_cells(group, resource, obj, now)`` -> the row's cells in column order, always including the wide ones
  (kube-apiserver generates the wide form and kubectl hides priority > 0 columns itself). Ages are relative to the
  injected ``now`` and use apimachinery's HumanDuration ("5s", "3m2s", "4h", "2d", "10y").
- Built-in resources without a printer (roles, clusterroles, limitranges, customresourcedefinitions, ...) get the
  generic convertor's NAME / CREATED AT (an RFC 3339 time, type ``date``); resources of other groups (custom
  resources whose CRD lists no printer columns) get NAME / AGE as apiextensions serves them.
- ``crd_columns(printer_columns)`` / ``crd_cells(printer_columns, obj, now)`` for custom resources, from the CRD
  version's ``additionalPrinterColumns`` (simple JSONPaths evaluated as client-go does).

Nothing here raises on odd object shapes: missing or mistyped fields print as Go's zero values would.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from apiserver.tables import cluster, printers
from apiserver.tables.crd import DEFAULT_PRINTER_COLUMNS, crd_cells, crd_columns
from apiserver.tables.descriptions import DOCS
from apiserver.tables.duration import human_duration, parse_ts
from apiserver.tables.formats import Obj, meta, name
from apiserver.tables.printers import BUILTIN_GROUPS
from kemu.api.meta import format_time

__all__ = ["column_definitions", "crd_cells", "crd_columns", "has_printer", "human_duration", "row_cells"]

TABLES = {**printers.TABLES, **cluster.TABLES}

_GENERIC_COLUMNS: list[Obj] = [
    {"name": "Name", "type": "string", "format": "name", "description": DOCS["meta.name"], "priority": 0},
    {"name": "Created At", "type": "date", "format": "", "description": DOCS["meta.creationTimestamp"],
     "priority": 0},
]


def has_printer(group: str, resource: str) -> bool:
    """Whether the resource has its own printer (otherwise it gets the generic table)."""
    return (group, resource) in TABLES


def column_definitions(group: str, resource: str) -> list[dict[str, Any]]:
    entry = TABLES.get((group, resource))
    if entry is not None:
        return [dict(c) for c in entry[0]]
    if group in BUILTIN_GROUPS:
        return [dict(c) for c in _GENERIC_COLUMNS]
    return crd_columns([])


def _created_at(obj: Obj) -> str:
    raw = meta(obj).get("creationTimestamp")
    t = parse_ts(raw)
    if t is None:
        return raw if isinstance(raw, str) and raw else "0001-01-01T00:00:00Z"
    return format_time(t)


def row_cells(group: str, resource: str, obj: dict[str, Any], now: dt.datetime) -> list[Any]:
    o = obj if isinstance(obj, dict) else {}
    entry = TABLES.get((group, resource))
    if entry is not None:
        return entry[1](o, now)
    if group in BUILTIN_GROUPS:
        return [name(o), _created_at(o)]
    return crd_cells(DEFAULT_PRINTER_COLUMNS, o, now)
