"""Bad input gets the right 4xx Status, never a 5xx or a hang: named cases, then a seeded fuzz run.

The fuzzer walks every served resource from discovery and sends mutated bodies (wrong types, unknown fields,
garbage values), bad query parameters, wrong content types, malformed patches and oversized bodies; every answer
must be < 500, and every error must be a ``Status`` object.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
import requests
import urllib3

from tests.support.apiserver import USER_TOKEN, ApiServer

pytestmark = pytest.mark.integration
urllib3.disable_warnings()


class Client:
    def __init__(self, kube: ApiServer, token: str | None = None) -> None:
        self.base = kube.url
        self.s = requests.Session()
        self.s.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would replace our CA
        self.s.verify = str(kube.ca_file)
        if token is not None:
            self.s.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None, ctype: str = "application/json",
             params: dict[str, str] | None = None, raw: bytes | None = None) -> requests.Response:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        return self.s.request(method, self.base + path, data=data, params=params,
                              headers={"Content-Type": ctype}, timeout=20)


def status_of(resp: requests.Response) -> dict[str, Any]:
    body = resp.json()
    assert body["kind"] == "Status" and body["status"] == "Failure" and body["code"] == resp.status_code, body
    return body  # type: ignore[no-any-return]


@pytest.fixture
def admin(kube: ApiServer) -> Client:
    return Client(kube, kube.token)


def test_named_bad_requests(kube: ApiServer, admin: Client) -> None:
    cms = "/api/v1/namespaces/default/configmaps"
    cases = [
        (admin.call("POST", cms, raw=b"{not json"), 400, "BadRequest"),
        (admin.call("POST", cms, raw=b"a: [1, 2\n", ctype="application/yaml"), 400, "BadRequest"),
        (admin.call("POST", cms, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
                                  "data": {"a": 1}}), 400, "BadRequest"),
        (admin.call("POST", cms, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "zzz": 1},
                    params={"fieldValidation": "Strict"}), 400, "BadRequest"),
        (admin.call("POST", cms, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}), 400,
         "BadRequest"),
        (admin.call("POST", cms, raw=b"x" * (3 * 1024 * 1024 + 10)), 413, "RequestEntityTooLarge"),
        (admin.call("GET", cms, params={"labelSelector": "a in (b"}), 400, "BadRequest"),
        (admin.call("GET", cms, params={"fieldSelector": "spec.nope=1"}), 400, "BadRequest"),
        (admin.call("GET", cms, params={"limit": "-3"}), 400, "BadRequest"),
        (admin.call("GET", cms, params={"continue": "garbage"}), 400, "BadRequest"),
        (admin.call("GET", cms + "/missing"), 404, "NotFound"),
        (admin.call("GET", "/api/v1/nothings"), 404, "NotFound"),
        (admin.call("PATCH", cms + "/missing", {"data": {}}, ctype="application/merge-patch+json"), 404, "NotFound"),
        (admin.call("PATCH", cms + "/x", {"data": {}}, ctype="text/plain"), 415, "UnsupportedMediaType"),
        (admin.call("POST", cms, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
                    params={"dryRun": "Sometimes"}), 400, "BadRequest"),
        (Client(kube).call("GET", cms), 401, "Unauthorized"),
        (Client(kube, "wrong-token").call("GET", cms), 401, "Unauthorized"),
        (Client(kube, USER_TOKEN).call("GET", cms), 403, "Forbidden"),
    ]
    for resp, code, reason in cases:
        assert resp.status_code == code, (resp.request.method, resp.request.url, resp.text[:300])
        assert status_of(resp)["reason"] == reason
    invalid = admin.call("POST", cms, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Not_OK"}})
    body = status_of(invalid)
    assert invalid.status_code == 422 and body["reason"] == "Invalid"
    assert body["details"]["causes"][0]["field"] == "metadata.name"


def _mutate(rng: random.Random, value: Any, depth: int = 0) -> Any:
    choices: list[Any] = [None, 0, -1, 2**40, "", "x" * rng.randint(1, 300), True, [], {}, [1, "a", None],
                          {"$patch": "delete"}, "Ω☃", 1.5e300]
    if isinstance(value, dict) and value and depth < 6:
        out = dict(value)
        k = rng.choice(list(out))
        out[k] = _mutate(rng, out[k], depth + 1)
        if rng.random() < 0.3:
            out[rng.choice(["bogus", "spec", "status", "metadata", "items", "0"])] = rng.choice(choices)
        return out
    if isinstance(value, list) and value and depth < 6:
        out_l = list(value)
        i = rng.randrange(len(out_l))
        out_l[i] = _mutate(rng, out_l[i], depth + 1)
        return out_l
    return rng.choice(choices)


SEEDS: dict[str, dict[str, Any]] = {
    "pods": {"metadata": {"name": "f", "labels": {"a": "b"}},
             "spec": {"containers": [{"name": "c", "image": "busybox", "ports": [{"containerPort": 80}],
                                      "resources": {"limits": {"cpu": "1"}}}]}},
    "deployments": {"metadata": {"name": "f"}, "spec": {
        "replicas": 1, "selector": {"matchLabels": {"a": "b"}},
        "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}},
    "services": {"metadata": {"name": "f"}, "spec": {"ports": [{"port": 80, "targetPort": 8080}],
                                                     "selector": {"a": "b"}}},
    "configmaps": {"metadata": {"name": "f"}, "data": {"k": "v"}},
}


def test_fuzz_finds_no_5xx(kube: ApiServer, admin: Client) -> None:
    rng = random.Random(20261123)
    disc = admin.call("GET", "/apis").json()
    resources = []
    for gv in ["v1"] + [g["preferredVersion"]["groupVersion"] for g in disc["groups"]]:
        prefix = "/api/v1" if gv == "v1" else f"/apis/{gv}"
        for r in admin.call("GET", prefix).json()["resources"]:
            if "/" not in r["name"] and "create" in r["verbs"]:
                resources.append((prefix, gv, r))
    failures = []
    for i in range(400):
        prefix, gv, r = rng.choice(resources)
        path = f"{prefix}/namespaces/default/{r['name']}" if r["namespaced"] else f"{prefix}/{r['name']}"
        base = {"apiVersion": gv, "kind": r["kind"], **SEEDS.get(r["name"], {"metadata": {"name": "f"}})}
        body = _mutate(rng, base)
        op = rng.randrange(6)
        if op == 0:
            resp = admin.call("POST", path, body, params={"fieldValidation": rng.choice(["Strict", "Warn", "Ignore"])})
        elif op == 1:
            resp = admin.call("PUT", f"{path}/f", body)
        elif op == 2:
            ctype = rng.choice(["application/merge-patch+json", "application/strategic-merge-patch+json",
                                "application/json-patch+json", "application/apply-patch+yaml"])
            patch = body if "json-patch" not in ctype else rng.choice([
                [{"op": "add", "path": "/metadata/labels/x", "value": "y"}], [{"op": "bogus"}], body,
                [{"op": "replace", "path": "/spec/replicas", "value": "many"}]])
            resp = admin.call("PATCH", f"{path}/f", patch, ctype=ctype, params={"fieldManager": "fuzz"})
        elif op == 3:
            params = {rng.choice(["limit", "resourceVersion", "labelSelector", "fieldSelector", "continue",
                                  "timeoutSeconds", "resourceVersionMatch"]): rng.choice(
                ["-1", "abc", "=", "!", "a in (", "1", "0", "99999999999", "metadata.name=f", ",,"])}
            if rng.random() < 0.3:
                params |= {"watch": "true", "timeoutSeconds": "1"}
            resp = admin.call("GET", path, params=params)
        elif op == 4:
            resp = admin.call("DELETE", f"{path}/f", _mutate(rng, {"propagationPolicy": "Background",
                                                                   "gracePeriodSeconds": 0}))
        else:
            resp = admin.call("POST", path, raw=rng.randbytes(rng.randint(0, 64)),
                              ctype=rng.choice(["application/json", "application/yaml", "application/x-foo"]))
        if resp.status_code >= 500:
            failures.append((i, resp.request.method, resp.request.url, resp.status_code, resp.text[:300]))
        elif resp.status_code >= 400:
            try:
                status_of(resp)
            except (AssertionError, ValueError) as e:
                failures.append((i, resp.request.method, resp.request.url, resp.status_code, f"not a Status: {e}"))
    assert not failures, "\n".join(map(str, failures[:10]))
