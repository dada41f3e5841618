"""Response shapes: lists, Tables (what kubectl prints), PartialObjectMetadata, and Status for deletes.

Column definitions and cells come from ``apiserver.tables`` (custom resources: the CRD's additionalPrinterColumns);
this module wraps them into ``meta.k8s.io/v1`` Table objects with each row's object as kubectl expects.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from apiserver import tables
from apiserver.resources import Resource

Obj = dict[str, Any]


def list_object(r: Resource, items: list[Obj], rv: str, cont: str, remaining: int) -> Obj:
    meta: Obj = {"resourceVersion": rv}
    if cont:
        meta["continue"] = cont
        if remaining:
            meta["remainingItemCount"] = remaining
    return {"kind": f"{r.kind}List", "apiVersion": r.group_version, "metadata": meta, "items": items}


def partial(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def _columns(r: Resource) -> list[Obj]:
    cols = r.extra.get("printer_columns")
    if r.crd and isinstance(cols, list) and cols:
        return tables.crd_columns(cols)
    return tables.column_definitions(r.group, r.resource)


def _cells(r: Resource, obj: Obj, now: dt.datetime) -> list[Any]:
    cols = r.extra.get("printer_columns")
    if r.crd and isinstance(cols, list) and cols:
        return tables.crd_cells(cols, obj, now)
    return tables.row_cells(r.group, r.resource, obj, now)


def table(r: Resource, objs: list[Obj], now: dt.datetime, include_object: str, rv: str = "", cont: str = "",
          remaining: int = 0, with_columns: bool = True) -> Obj:
    rows = []
    for o in objs:
        row: Obj = {"cells": _cells(r, o, now)}
        if include_object == "Object":
            row["object"] = o
        elif include_object != "None":
            row["object"] = partial(o)
        rows.append(row)
    meta: Obj = {"resourceVersion": rv} if rv else {}
    if cont:
        meta["continue"] = cont
        if remaining:
            meta["remainingItemCount"] = remaining
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": _columns(r) if with_columns else [], "rows": rows}


def delete_status(r: Resource, obj: Obj) -> Obj:
    meta = obj.get("metadata", {})
    details: Obj = {"name": meta.get("name", ""), "kind": r.resource, "uid": meta.get("uid", "")}
    if r.group:
        details["group"] = r.group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
