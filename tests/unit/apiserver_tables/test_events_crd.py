"""Event rows (core/v1 and events.k8s.io/v1 shapes) and custom-resource tables from additionalPrinterColumns."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from apiserver.tables import column_definitions, crd_cells, crd_columns, row_cells
from apiserver.tables.crd import _go_json, go_float
from apiserver.tables.jsonpath import JSONPathError, find, parse

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
Obj = dict[str, Any]


def ts(ago_s: float, micro: bool = False) -> str:
    t = NOW - dt.timedelta(seconds=ago_s)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


CORE_EVENT: Obj = {
    "apiVersion": "v1", "kind": "Event",
    "metadata": {"name": "web.17a2b", "namespace": "default", "creationTimestamp": ts(300)},
    "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default", "fieldPath": "spec.containers{nginx}"},
    "reason": "Pulled", "message": 'Successfully pulled image "nginx" in 1.2s\n', "type": "Normal",
    "source": {"component": "kubelet", "host": "node-1"},
    "firstTimestamp": ts(300), "lastTimestamp": ts(60), "count": 3,
}

NEW_EVENT: Obj = {
    "apiVersion": "events.k8s.io/v1", "kind": "Event",
    "metadata": {"name": "web.17a2c", "namespace": "default", "creationTimestamp": ts(30)},
    "eventTime": ts(29.5, micro=True), "reportingController": "default-scheduler",
    "reportingInstance": "default-scheduler-node-1", "action": "Binding", "reason": "Scheduled",
    "regarding": {"kind": "Pod", "name": "web", "namespace": "default"},
    "note": "Successfully assigned default/web to node-1", "type": "Normal",
}


def test_event_columns() -> None:
    cols = column_definitions("", "events")
    assert [(c["name"], c["priority"]) for c in cols] == [
        ("Last Seen", 0), ("Type", 0), ("Reason", 0), ("Object", 0), ("Subobject", 1), ("Source", 1),
        ("Message", 0), ("First Seen", 1), ("Count", 1), ("Name", 1)]
    assert column_definitions("events.k8s.io", "events") == cols


def test_core_event() -> None:
    assert row_cells("", "events", CORE_EVENT, NOW) == [
        "60s", "Normal", "Pulled", "pod/web", "spec.containers{nginx}", "kubelet, node-1",
        'Successfully pulled image "nginx" in 1.2s', "5m", 3, "web.17a2b"]


def test_new_api_event_in_either_group() -> None:
    want = ["29s", "Normal", "Scheduled", "pod/web", "", "default-scheduler, default-scheduler-node-1",
            "Successfully assigned default/web to node-1", "29s", 1, "web.17a2c"]
    assert row_cells("events.k8s.io", "events", NEW_EVENT, NOW) == want


def test_event_series_and_fallbacks() -> None:
    ev = dict(NEW_EVENT, series={"count": 5, "lastObservedTime": ts(10, micro=True)})
    cells = row_cells("events.k8s.io", "events", ev, NOW)
    assert (cells[0], cells[7], cells[8]) == ("10s", "29s", 5)
    bare: Obj = {"metadata": {"name": "e"}, "involvedObject": {"kind": "Node"}, "message": "  x  "}
    assert row_cells("", "events", bare, NOW) == ["<unknown>", "", "", "node", "", "", "x", "<unknown>", 1, "e"]
    core_new_shape = dict(CORE_EVENT, firstTimestamp=None, lastTimestamp=None, eventTime=ts(7, micro=True),
                          source={}, reportingComponent="ctrl", reportingInstance="")
    cells = row_cells("", "events", core_new_shape, NOW)
    assert (cells[0], cells[5], cells[7]) == ("7s", "ctrl", "7s")


# --- custom resources -----------------------------------------------------------------------------------------

PRINTER_COLUMNS: list[Obj] = [
    {"name": "Spec", "type": "string", "description": "The cron spec defining the interval a CronJob is run",
     "jsonPath": ".spec.cronSpec"},
    {"name": "Replicas", "type": "integer", "description": "The number of jobs launched by the CronJob",
     "jsonPath": ".spec.replicas"},
    {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
    {"name": "Ratio", "type": "number", "jsonPath": ".status.ratio", "priority": 1},
    {"name": "Paused", "type": "boolean", "jsonPath": ".spec.paused", "format": ""},
    {"name": "Selector", "type": "string", "jsonPath": ".spec.selector", "priority": 1},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]

CRONTAB: Obj = {
    "apiVersion": "stable.example.com/v1", "kind": "CronTab",
    "metadata": {"name": "my-new-cron-object", "namespace": "default", "creationTimestamp": ts(7)},
    "spec": {"cronSpec": "* * * * */5", "image": "my-awesome-cron-image", "replicas": 3, "paused": False,
             "selector": {"matchLabels": {"b": "<2>", "a": "1"}}},
    "status": {"ratio": 2, "conditions": [{"type": "Synced", "status": "True"}, {"type": "Ready", "status": "False"}]},
}


def test_crd_columns() -> None:
    cols = crd_columns(PRINTER_COLUMNS)
    assert [(c["name"], c["type"], c["priority"]) for c in cols] == [
        ("Name", "string", 0), ("Spec", "string", 0), ("Replicas", "integer", 0), ("Ready", "string", 0),
        ("Ratio", "number", 1), ("Paused", "boolean", 0), ("Selector", "string", 1), ("Age", "date", 0)]
    assert cols[0]["format"] == "name"
    assert cols[1]["description"] == "The cron spec defining the interval a CronJob is run"
    assert all(set(c) == {"name", "type", "format", "description", "priority"} for c in cols)
    assert cols[2]["description"] == "The number of jobs launched by the CronJob"
    assert cols[3]["description"] == ('Custom resource definition column (in JSONPath format): '
                                      '.status.conditions[?(@.type=="Ready")].status')
    default = crd_columns([])
    assert [(c["name"], c["type"]) for c in default] == [("Name", "string"), ("Age", "date")]
    assert default[1]["description"] == ("Custom resource definition column (in JSONPath format): "
                                         ".metadata.creationTimestamp")


def test_crd_cells() -> None:
    assert crd_cells(PRINTER_COLUMNS, CRONTAB, NOW) == [
        "my-new-cron-object", "* * * * */5", 3, "False", 2.0, False, '{"matchLabels":{"a":"1","b":"\\u003c2\\u003e"}}',
        "7s"]
    assert crd_cells([], CRONTAB, NOW) == ["my-new-cron-object", "7s"]


@pytest.mark.parametrize(("col", "obj", "want"), [
    ({"type": "string", "jsonPath": ".spec.missing"}, {"spec": {}}, None),
    ({"type": "string", "jsonPath": ".spec.n"}, {"spec": {"n": 5}}, "5"),
    ({"type": "string", "jsonPath": ".spec.n"}, {"spec": {"n": 1.5}}, "1.5"),
    ({"type": "string", "jsonPath": ".spec.n"}, {"spec": {"n": True}}, "true"),
    ({"type": "string", "jsonPath": ".spec.n"}, {"spec": {"n": None}}, None),
    ({"type": "string", "jsonPath": ".spec.list"}, {"spec": {"list": ["a", 1]}}, '["a",1]'),
    ({"type": "integer", "jsonPath": ".spec.n"}, {"spec": {"n": 3.9}}, 3),
    ({"type": "integer", "jsonPath": ".spec.n"}, {"spec": {"n": "3"}}, None),
    ({"type": "number", "jsonPath": ".spec.n"}, {"spec": {"n": 3}}, 3.0),
    ({"type": "boolean", "jsonPath": ".spec.n"}, {"spec": {"n": "true"}}, None),
    ({"type": "date", "jsonPath": ".spec.t"}, {"spec": {"t": "2025-12-30T12:00:00Z"}}, "2d"),
    ({"type": "date", "jsonPath": ".spec.t"}, {"spec": {"t": "not a time"}}, "<invalid>"),
    ({"type": "date", "jsonPath": ".spec.t"}, {"spec": {"t": ""}}, "<unknown>"),
    ({"type": "string", "jsonPath": ".spec[bad"}, {"spec": {}}, None),
    ({"type": "string", "jsonPath": ".spec.items[-1].name"}, {"spec": {"items": [{"name": "a"}, {"name": "b"}]}},
     "b"),
    ({"type": "string", "jsonPath": ".spec.items[5].name"}, {"spec": {"items": [{"name": "a"}]}}, None),
    ({"type": "string", "jsonPath": ".metadata.labels['app.kubernetes.io/name']"},
     {"metadata": {"labels": {"app.kubernetes.io/name": "web"}}}, "web"),
])
def test_crd_cell_kinds(col: Obj, obj: Obj, want: Any) -> None:
    cells = crd_cells([dict(col, name="X")], dict(obj, metadata=dict(obj.get("metadata", {}), name="o")), NOW)
    assert cells == ["o", want]
    assert type(cells[1]) is type(want)


DOC = {"status": {"conditions": [{"type": "A", "status": "True", "n": 1}, {"type": "Ready", "status": "False", "n": 5}],
                  "nested": {"x": {"name": "deep"}, "y": [{"name": "deeper"}]}}}


@pytest.mark.parametrize(("expr", "want"), [
    (".status.conditions[0].type", ["A"]),
    ("{.status.conditions[*].type}", ["A", "Ready"]),
    ('.status.conditions[?(@.type=="Ready")].status', ["False"]),
    (".status.conditions[?(@.type=='Ready')].status", ["False"]),
    ('.status.conditions[?(@.type!="Ready")].status', ["True"]),
    (".status.conditions[?(@.n>2)].type", ["Ready"]),
    (".status.conditions[?(@.n<=1)].type", ["A"]),
    (".status.conditions[?(@.missing)].type", []),
    (".status.nested..name", ["deep", "deeper"]),
    (".status.nested.*.name", ["deep"]),
    ("$.status.conditions[1].n", [5]),
    ('.status["nested"].x.name', ["deep"]),
    (".status.conditions.type", []),
])
def test_jsonpath(expr: str, want: list[Any]) -> None:
    assert find(expr, DOC) == want


@pytest.mark.parametrize("bad", [".a[", ".a[x]", ".a[?(foo)]", ".a[?(@.b == nope)]", "..", ".a[?(@.b=)]"])
def test_jsonpath_errors(bad: str) -> None:
    with pytest.raises(JSONPathError):
        parse(bad)


@pytest.mark.parametrize(("f", "want"), [
    (1.5, "1.5"), (100000.0, "100000"), (123456.5, "123456.5"), (1e6, "1e+06"), (1234567.0, "1.234567e+06"),
    (0.0001, "0.0001"), (0.00001, "1e-05"), (-2.5e-7, "-2.5e-07"), (3.0, "3"), (1e21, "1e+21"), (0.0, "0"),
])
def test_go_float(f: float, want: str) -> None:
    assert go_float(f) == want


@pytest.mark.parametrize(("value", "want"), [
    ({"b": [1.0, 2.5, 1e-7, 1e21, 123456789.0], "a": None, "c": True},
     '{"a":null,"b":[1,2.5,1e-7,1e+21,123456789],"c":true}'),
    (["x<y>&z\u2028", "é"], '["x\\u003cy\\u003e\\u0026z\\u2028","é"]'),
    ({"n": -0.000001, "m": 0.0000001}, '{"m":1e-7,"n":-0.000001}'),
])
def test_go_json(value: Any, want: str) -> None:
    assert _go_json(value) == want
