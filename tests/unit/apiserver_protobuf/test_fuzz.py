"""Seeded mutation fuzzing: any byte string either decodes to a dict or fails with ProtobufError -- never another
exception, a hang or unbounded recursion (bounded: a fixed number of mutations of a few realistic bodies)."""

from __future__ import annotations

import random

import pytest

from apiserver.protobuf import ProtobufError, decode
from tests.unit.apiserver_protobuf.pbenc import entry, envelope, m, meta, packed, s, v

pytestmark = pytest.mark.unit

MUTATIONS_PER_SEED = 1500


def _seeds() -> list[tuple[str, str, bytes]]:
    """(apiVersion, kind, object message) of a few realistic objects."""
    http = m(s(1, "/healthz"), s(2, m(v(1, 1), v(2, 0), s(3, "http"))))
    container = m(s(1, "c"), s(2, "nginx"), s(6, m(v(3, 80), s(4, "TCP"))), s(10, m(s(1, s(2, http)), v(2, 3))),
                  s(8, s(1, entry(1, "cpu", s(1, "500m")))), s(7, m(s(1, "E"), s(3, s(3, m(s(1, s(1, "cfg")),
                                                                                          s(2, "k")))))))
    pod_spec = m(s(1, m(s(1, "data"), s(2, s(2, b"")))), s(2, container), s(14, packed(4, [1, 2, 3])))
    template = m(s(1, meta("", labels=entry(11, "app", "web"))), s(2, pod_spec))
    deploy = ("apps/v1", "Deployment", m(s(1, meta("web")), s(2, m(v(1, 3), s(2, s(1, entry(1, "app", "web"))),
                                                                    s(3, template)))))
    cm = ("v1", "ConfigMap", m(s(1, meta("c")), entry(2, "a", "b"), entry(3, "bin", b"\x00\x01")))
    inner = envelope("v1", "ConfigMap", s(1, meta("x")))
    revision = ("apps/v1", "ControllerRevision", m(s(1, meta("r")), s(2, s(1, inner)), v(3, 4)))
    event = ("events.k8s.io/v1", "Event", m(s(1, meta("e")), s(2, m(v(1, 1795161600), v(2, 5000)))))
    return [deploy, cm, revision, event]


def _mutate(rng: random.Random, body: bytes) -> bytes:
    data = bytearray(body)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        pos = rng.randrange(len(data)) if data else 0
        if op == 0 and data:
            data[pos] ^= 1 << rng.randrange(8)
        elif op == 1 and data:
            data[pos] = rng.choice((0x00, 0x7F, 0x80, 0xFF, 0x0A, 0x12, 0x08, 0x0C))
        elif op == 2:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 6)))
        elif op == 3:
            del data[pos:pos + rng.randint(1, 8)]
        else:
            del data[pos:]
    return bytes(data)


@pytest.mark.parametrize("seed", range(4))
def test_mutated_bodies_decode_or_fail_cleanly(seed: int) -> None:
    rng = random.Random(seed)
    api_version, kind, obj = _seeds()[seed]
    assert decode(envelope(api_version, kind, obj))["kind"] == kind
    decoded = failed = 0
    for i in range(MUTATIONS_PER_SEED):
        # Mostly mutate the object inside an intact envelope, so the field decoding is what gets exercised.
        mutated = (_mutate(rng, envelope(api_version, kind, obj)) if i % 4 == 0
                   else envelope(api_version, kind, _mutate(rng, obj)))
        try:
            result = decode(mutated)
        except ProtobufError:
            failed += 1
        else:
            assert isinstance(result, dict) and "kind" in result
            decoded += 1
    assert decoded + failed == MUTATIONS_PER_SEED
    assert failed > 0 and decoded > 20  # both the error and the success paths are reached
