"""Service-account tokens: JWTs shaped as kube-apiserver's bound tokens, signed HS256 with a shared key file.

The real apiserver signs RS256 with ``--service-account-key-file``; what clients and components look at is the JWT
shape, which is kept: header ``{"alg", "kid"}``, claims ``aud`` (list), ``exp``, ``iat``, ``nbf``, ``iss``,
``jti``, ``sub`` = ``system:serviceaccount:<ns>:<name>`` and ``kubernetes.io`` = ``{namespace, serviceaccount:
{name, uid}, pod?: {name, uid}, warnafter?}``.

Like ``--service-account-extend-token-expiration`` (on by default), a pod-bound token asked for 3607 s (what the
kubelet's projected volume asks for) is issued for a year with ``warnafter`` at the requested expiry.

``authenticate`` returns None for anything that is not a valid token of this issuer (wrong shape, signature,
issuer, audience, not yet valid or expired), so the caller answers 401. Legacy secret-based tokens
(``issue_legacy``: issuer ``kubernetes/serviceaccount``, ``kubernetes.io/serviceaccount/*`` claims, no expiry) are
accepted too, while ``legacy_secret_check`` (if set) confirms their Secret still holds them. Bound tokens are not
checked against the service account or the bound pod (the real one does; a deleted pod's token stays valid until
it expires here).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import random
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from apiserver.auth.user import (
    ALL_AUTHENTICATED,
    UserInfo,
    service_account_groups,
    service_account_username,
    split_service_account_username,
)

DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
LEGACY_ISSUER = "kubernetes/serviceaccount"
LEGACY_PREFIX = "kubernetes.io/serviceaccount/"
WARN_ONLY_EXPIRATION_S = 3607  # the kubelet's projected token volume asks for this
EXTENDED_EXPIRATION_S = 365 * 24 * 3600
EXTRA_POD_NAME = "authentication.kubernetes.io/pod-name"
EXTRA_POD_UID = "authentication.kubernetes.io/pod-uid"
EXTRA_CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ServiceAccountTokens:
    def __init__(self, key: bytes, issuer: str = DEFAULT_ISSUER, api_audiences: Iterable[str] | None = None,
                 extend_expiration: bool = True, rng: random.Random | None = None) -> None:
        if not key:
            raise ValueError("service account signing key must not be empty")
        self.key = key
        self.issuer = issuer
        self.api_audiences = tuple(api_audiences) if api_audiences is not None else (issuer,)
        self.extend_expiration = extend_expiration
        self.rng = rng or random.SystemRandom()
        self.kid = _b64(hashlib.sha256(b"kemu-sa-kid:" + key).digest())
        # Legacy (secret-based) tokens stay valid only while their Secret does: the apiserver installs a check
        # (namespace, secret name, token) -> bool; without one every well-signed legacy token is accepted.
        self.legacy_secret_check: Callable[[str, str, str], bool] | None = None

    # --- issue ----------------------------------------------------------------------------------------------------
    def issue(self, namespace: str, name: str, uid: str, audiences: list[str], expiration_s: int, now: float,
              bound_pod: tuple[str, str] | None = None) -> str:
        iat = int(now)
        private: dict[str, Any] = {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}}
        exp = iat + int(expiration_s)
        if bound_pod is not None:
            private["pod"] = {"name": bound_pod[0], "uid": bound_pod[1]}
            if self.extend_expiration and int(expiration_s) == WARN_ONLY_EXPIRATION_S:
                private["warnafter"] = exp
                exp = iat + EXTENDED_EXPIRATION_S
        claims = {"aud": list(audiences or self.api_audiences), "exp": exp, "iat": iat, "iss": self.issuer,
                  "jti": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)), "kubernetes.io": private,
                  "nbf": iat, "sub": service_account_username(namespace, name)}
        return self._encode(claims)

    def issue_legacy(self, namespace: str, name: str, uid: str, secret_name: str) -> str:
        """A non-expiring token for a ``kubernetes.io/service-account-token`` Secret (what the token controller
        writes into the Secret's ``data.token``)."""
        claims = {"iss": LEGACY_ISSUER, LEGACY_PREFIX + "namespace": namespace,
                  LEGACY_PREFIX + "secret.name": secret_name, LEGACY_PREFIX + "service-account.name": name,
                  LEGACY_PREFIX + "service-account.uid": uid, "sub": service_account_username(namespace, name)}
        return self._encode(claims)

    def _encode(self, claims: dict[str, Any]) -> str:
        header = {"alg": "HS256", "kid": self.kid}  # the real header carries no "typ" either
        signing_input = _b64(_json(header)) + "." + _b64(_json(claims))
        return signing_input + "." + _b64(self._sign(signing_input))

    def _sign(self, signing_input: str) -> bytes:
        return hmac.new(self.key, signing_input.encode("ascii"), hashlib.sha256).digest()

    # --- verify ---------------------------------------------------------------------------------------------------
    def _signed_claims(self, token: str) -> dict[str, Any] | None:
        """The claims of a token signed with our key (no other check)."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            header = json.loads(_unb64(parts[0]))
            claims = json.loads(_unb64(parts[1]))
            signature = _unb64(parts[2])
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
            return None
        if not hmac.compare_digest(signature, self._sign(parts[0] + "." + parts[1])):
            return None
        return claims

    def claims_of(self, token: str, now: float) -> dict[str, Any] | None:
        """The verified claims, or None when the token is not valid now for this issuer and audience."""
        claims = self._signed_claims(token)
        if claims is None or claims.get("iss") != self.issuer:
            return None
        aud = claims.get("aud")
        auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if not set(auds) & set(self.api_audiences):
            return None
        exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat"))
        if not isinstance(exp, int | float) or now >= exp:
            return None
        if isinstance(nbf, int | float) and now < nbf:
            return None
        return claims

    def _legacy_user(self, token: str) -> UserInfo | None:
        claims = self._signed_claims(token)
        if claims is None or claims.get("iss") != LEGACY_ISSUER:
            return None
        ns, name = claims.get(LEGACY_PREFIX + "namespace"), claims.get(LEGACY_PREFIX + "service-account.name")
        secret, uid = claims.get(LEGACY_PREFIX + "secret.name"), claims.get(LEGACY_PREFIX + "service-account.uid")
        if not all(isinstance(v, str) and v for v in (ns, name, secret)) or \
                claims.get("sub") != service_account_username(str(ns), str(name)):
            return None
        if self.legacy_secret_check is not None and not self.legacy_secret_check(str(ns), str(secret), token):
            return None
        return UserInfo(name=str(claims["sub"]), uid=str(uid or ""),
                        groups=(*service_account_groups(str(ns)), ALL_AUTHENTICATED))

    def authenticate(self, token: str, now: float) -> UserInfo | None:
        claims = self.claims_of(token, now)
        if claims is None:
            return self._legacy_user(token)
        sub = claims.get("sub")
        private = claims.get("kubernetes.io")
        if not isinstance(sub, str) or not isinstance(private, dict):
            return None
        who = split_service_account_username(sub)
        sa = private.get("serviceaccount")
        if who is None or not isinstance(sa, dict) or private.get("namespace") != who[0] or sa.get("name") != who[1]:
            return None
        extra: dict[str, tuple[str, ...]] = {}
        pod = private.get("pod")
        if isinstance(pod, dict) and pod.get("name"):
            extra[EXTRA_POD_NAME] = (str(pod["name"]),)
            extra[EXTRA_POD_UID] = (str(pod.get("uid", "")),)
        if claims.get("jti"):
            extra[EXTRA_CREDENTIAL_ID] = (f"JTI={claims['jti']}",)
        return UserInfo(name=sub, uid=str(sa.get("uid", "")),
                        groups=(*service_account_groups(who[0]), ALL_AUTHENTICATED), extra=extra)


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode("utf-8")
