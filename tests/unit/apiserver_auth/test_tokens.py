"""Authentication: the static token file, bearer header parsing and service-account JWTs."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import pytest

from apiserver.auth import ServiceAccountTokens, TokenFile, UserInfo, authenticate_request

pytestmark = pytest.mark.unit

NOW = 1_800_000_000.0


@pytest.mark.parametrize(("text", "token", "want"), [
    ('t1,admin,admin-uid,"system:masters"\n', "t1", UserInfo("admin", "admin-uid", ("system:masters",))),
    ('t1,alice,a1,"dev,ops"\n', "t1", UserInfo("alice", "a1", ("dev", "ops"))),
    ("t1,alice,a1\n", "t1", UserInfo("alice", "a1")),
    ("t1, alice, a1\n", "t1", UserInfo("alice", "a1")),              # leading spaces trimmed
    ("\n\nt1,alice,a1\n\n", "t1", UserInfo("alice", "a1")),          # blank lines skipped
    ("t1,alice,a1,g,extra,columns\n", "t1", UserInfo("alice", "a1", ("g",))),
    ("t1,alice,a1\nt1,bob,b1\n", "t1", UserInfo("bob", "b1")),       # duplicate: the later record wins
    (",nobody,n1\nt2,bob,b1\n", "", None),                           # empty token skipped
    ("t1,alice,a1\n", "t2", None),
])
def test_token_file_parsing(text: str, token: str, want: UserInfo | None) -> None:
    assert TokenFile.parse(text).authenticate(token) == want


@pytest.mark.parametrize(("text", "line", "detail"), [
    ("t1,alice\n", 1, "must have at least 3 columns (token, user name, user uid), found 2"),
    ("t1,alice,a1\n\nt2\n", 3, "found 1"),
    ('t1,alice,a1\nt2,"bob,b1\n', 2, ""),                            # unterminated quote
])
def test_token_file_errors_name_the_line(text: str, line: int, detail: str, tmp_path: Path) -> None:
    path = tmp_path / "tokens.csv"
    path.write_text(text)
    with pytest.raises(ValueError) as e:
        TokenFile.load(str(path))
    assert f"line {line}" in str(e.value) and detail in str(e.value) and str(path) in str(e.value)


def test_token_file_load(tmp_path: Path) -> None:
    path = tmp_path / "tokens.csv"
    path.write_text('tok,admin,admin,"system:masters"\n')
    assert TokenFile.load(str(path)).authenticate("tok") == UserInfo("admin", "admin", ("system:masters",))


TOKENS = TokenFile.parse('tok,alice,a1,"dev"\n')


@pytest.mark.parametrize(("header", "user"), [
    ("Bearer tok", "alice"),
    ("bearer tok", "alice"),
    ("BEARER tok", "alice"),
    ("  Bearer tok  ", "alice"),
    ("Bearer tok trailing", "alice"),
    (None, None),
    ("", None),
    ("Bearer", None),
    ("Bearer ", None),
    ("Bearer  tok", None),        # two spaces: the token is empty, as Kubernetes splits on single spaces
    ("Basic dG9rOg==", None),
    ("Bearer nope", None),
])
def test_bearer_header(header: str | None, user: str | None) -> None:
    got = authenticate_request(header, TOKENS, None, NOW)
    assert (got.name if got else None) == user
    if got:
        assert got.groups == ("dev", "system:authenticated")


def test_authenticated_group_not_duplicated() -> None:
    tf = TokenFile.parse('tok,alice,a1,"system:authenticated"\n')
    got = authenticate_request("Bearer tok", tf, None, NOW)
    assert got is not None and got.groups == ("system:authenticated",)


def _sa(key: bytes = b"k" * 32, **kw: object) -> ServiceAccountTokens:
    return ServiceAccountTokens(key, rng=random.Random(7), **kw)  # type: ignore[arg-type]


def _claims(token: str) -> dict[str, object]:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))  # type: ignore[no-any-return]


def test_sa_token_shape_and_user() -> None:
    sa = _sa()
    token = sa.issue("team", "builder", "uid-1", ["https://kubernetes.default.svc.cluster.local"], 3600, NOW)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["alg"] == "HS256" and header["kid"]
    c = _claims(token)
    assert c["iss"] == "https://kubernetes.default.svc.cluster.local"
    assert c["sub"] == "system:serviceaccount:team:builder"
    assert c["aud"] == ["https://kubernetes.default.svc.cluster.local"]
    assert c["iat"] == c["nbf"] == int(NOW) and c["exp"] == int(NOW) + 3600
    assert c["kubernetes.io"] == {"namespace": "team", "serviceaccount": {"name": "builder", "uid": "uid-1"}}
    assert isinstance(c["jti"], str)
    user = sa.authenticate(token, NOW + 10)
    assert user is not None
    assert user.name == "system:serviceaccount:team:builder" and user.uid == "uid-1"
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated")
    assert user.extra == {"authentication.kubernetes.io/credential-id": (f"JTI={c['jti']}",)}
    via_header = authenticate_request(f"Bearer {token}", TOKENS, sa, NOW + 10)
    assert via_header is not None and via_header.groups == user.groups


def test_sa_token_bound_to_pod_extends_kubelet_expiry() -> None:
    sa = _sa()
    token = sa.issue("ns", "default", "u", [], 3607, NOW, bound_pod=("web-0", "pod-uid"))
    c = _claims(token)
    assert c["kubernetes.io"]["pod"] == {"name": "web-0", "uid": "pod-uid"}  # type: ignore[index]
    assert c["kubernetes.io"]["warnafter"] == int(NOW) + 3607  # type: ignore[index]
    assert c["exp"] == int(NOW) + 365 * 24 * 3600
    user = sa.authenticate(token, NOW + 7200)
    assert user is not None and user.extra["authentication.kubernetes.io/pod-name"] == ("web-0",)
    short = _sa(extend_expiration=False).issue("ns", "default", "u", [], 3607, NOW, bound_pod=("p", "u"))
    assert _claims(short)["exp"] == int(NOW) + 3607


def _tamper(token: str) -> str:
    h, body, sig = token.split(".")
    c = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    c["sub"] = "system:serviceaccount:kube-system:admin"
    forged = base64.urlsafe_b64encode(json.dumps(c).encode()).rstrip(b"=").decode()
    return f"{h}.{forged}.{sig}"


@pytest.mark.parametrize(("case", "now"), [
    ("valid", NOW), ("expired", NOW + 3600), ("just-before-expiry", NOW + 3599), ("not-yet-valid", NOW - 1),
    ("tampered", NOW), ("other-key", NOW), ("other-issuer", NOW), ("other-audience", NOW), ("garbage", NOW),
    ("two-parts", NOW), ("bad-signature-encoding", NOW),
])
def test_sa_token_rejections(case: str, now: float) -> None:
    sa = _sa()
    token = sa.issue("ns", "sa", "u", [], 3600, NOW)
    ok = {"valid", "just-before-expiry"}
    verifier = sa
    if case == "tampered":
        token = _tamper(token)
    elif case == "other-key":
        verifier = _sa(b"x" * 32)
    elif case == "other-issuer":
        verifier = _sa(issuer="https://elsewhere")
    elif case == "other-audience":
        token = sa.issue("ns", "sa", "u", ["vault"], 3600, NOW)
    elif case == "garbage":
        token = "a.b.c"
    elif case == "two-parts":
        token = ".".join(token.split(".")[:2])
    elif case == "bad-signature-encoding":
        token = token + "!"
    got = verifier.authenticate(token, now)
    assert (got is not None) == (case in ok)
    assert (authenticate_request(f"Bearer {token}", None, verifier, now) is not None) == (case in ok)


def test_sa_token_custom_audiences() -> None:
    sa = _sa(api_audiences=["api", "vault"])
    assert sa.authenticate(sa.issue("ns", "sa", "u", ["vault"], 600, NOW), NOW) is not None
    assert sa.authenticate(sa.issue("ns", "sa", "u", ["other"], 600, NOW), NOW) is None
    assert _claims(sa.issue("ns", "sa", "u", [], 600, NOW))["aud"] == ["api", "vault"]


def test_sa_key_must_not_be_empty() -> None:
    with pytest.raises(ValueError):
        ServiceAccountTokens(b"")


def test_legacy_secret_tokens() -> None:
    sa = _sa()
    token = sa.issue_legacy("team", "dashboard", "uid-9", "dashboard-token")
    c = _claims(token)
    assert c == {"iss": "kubernetes/serviceaccount", "kubernetes.io/serviceaccount/namespace": "team",
                 "kubernetes.io/serviceaccount/secret.name": "dashboard-token",
                 "kubernetes.io/serviceaccount/service-account.name": "dashboard",
                 "kubernetes.io/serviceaccount/service-account.uid": "uid-9",
                 "sub": "system:serviceaccount:team:dashboard"}
    user = sa.authenticate(token, NOW + 10 * 365 * 86400)          # never expires
    assert user == UserInfo("system:serviceaccount:team:dashboard", "uid-9",
                            ("system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"))
    live = {("team", "dashboard-token")}
    sa.legacy_secret_check = lambda ns, secret, tok: (ns, secret) in live
    assert sa.authenticate(token, NOW) is not None
    live.clear()                                                     # the Secret was deleted
    assert sa.authenticate(token, NOW) is None
    assert _sa(b"x" * 32).authenticate(token, NOW) is None            # another key
    assert sa.authenticate(_tamper(token), NOW) is None
