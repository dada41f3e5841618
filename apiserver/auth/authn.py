"""Request authentication: the ``Authorization: Bearer <token>`` header through the token file, then the
service-account token authenticator (kube-apiserver's union of token authenticators).

Like Kubernetes' bearer parser, the scheme is case-insensitive, exactly one space separates it from the token, and
an empty token or any other scheme is "no credentials". A recognised user gets ``system:authenticated`` added to its
groups. None means unauthenticated: the caller answers 401 (anonymous access is off, as the issue requires).
"""

from __future__ import annotations

from apiserver.auth.satoken import ServiceAccountTokens
from apiserver.auth.tokenfile import TokenFile
from apiserver.auth.user import ALL_AUTHENTICATED, UserInfo


def bearer_token(authorization_header: str | None) -> str | None:
    if not authorization_header:
        return None
    parts = authorization_header.strip().split(" ")
    if len(parts) < 2 or parts[0].lower() != "bearer":
        return None
    token = parts[1]
    return token or None


def authenticate_token(token: str, token_file: TokenFile | None, sa_tokens: ServiceAccountTokens | None,
                       now: float) -> UserInfo | None:
    user = token_file.authenticate(token) if token_file is not None else None
    if user is None and sa_tokens is not None and token.count(".") == 2:
        user = sa_tokens.authenticate(token, now)
    return user.with_group(ALL_AUTHENTICATED) if user is not None else None


def authenticate_request(authorization_header: str | None, token_file: TokenFile | None,
                         sa_tokens: ServiceAccountTokens | None, now: float) -> UserInfo | None:
    token = bearer_token(authorization_header)
    if token is None:
        return None
    return authenticate_token(token, token_file, sa_tokens, now)
