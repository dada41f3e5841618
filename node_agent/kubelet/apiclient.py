"""The node agent's apiserver client: the few REST calls a kubelet makes, over aiohttp with a bearer token.

This is a deliberately small client (kemu/rest.py, the shared client, did not exist when the kubelet was written);
when it lands, ``ApiClient`` should become a thin adapter over it. Errors are typed: ``ApiError`` carries the HTTP
code and the Status ``reason`` (NotFound, AlreadyExists, Conflict, Gone ...). ``watch`` yields (type, object) pairs
from a chunked ``?watch=true`` stream and ends when the server closes it; callers relist on ``Gone``.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlencode

import aiohttp


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.reason = reason
        self.message = message


class ApiClient:
    def __init__(self, base_url: str, token: str = "", ca_file: str | None = None,
                 request_timeout_s: float = 30.0, user_agent: str = "kubelet/v1.32.0 (linux/amd64) kemu") -> None:
        self.base = base_url.rstrip("/")
        self.headers = {"User-Agent": user_agent, "Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.ssl: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else False
        self.timeout = aiohttp.ClientTimeout(total=request_timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self.headers)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        q = {k: v for k, v in (params or {}).items() if v is not None}
        return self.base + path + (("?" + urlencode(q)) if q else "")

    async def request(self, method: str, path: str, body: Any = None, params: Mapping[str, Any] | None = None,
                      content_type: str = "application/json") -> Any:
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": content_type} if data is not None else {}
        async with self.session().request(method, self.url(path, params), data=data, headers=headers,
                                          ssl=self.ssl, timeout=self.timeout) as r:
            text = await r.text()
            if r.status >= 400:
                raise _error(r.status, text)
            return json.loads(text) if text else None

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return await self.request("GET", path, params=params)

    async def get_or_none(self, path: str) -> Any:
        try:
            return await self.get(path)
        except ApiError as e:
            if e.code == 404:
                return None
            raise

    async def create(self, path: str, body: Any) -> Any:
        return await self.request("POST", path, body)

    async def update(self, path: str, body: Any) -> Any:
        return await self.request("PUT", path, body)

    async def patch(self, path: str, body: Any, patch_type: str = "merge") -> Any:
        ct = {"merge": "application/merge-patch+json", "strategic": "application/strategic-merge-patch+json",
              "json": "application/json-patch+json"}[patch_type]
        return await self.request("PATCH", path, body, content_type=ct)

    async def delete(self, path: str, grace_period_s: int | None = None, uid: str | None = None) -> Any:
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period_s is not None:
            body["gracePeriodSeconds"] = grace_period_s
        if uid:
            body["preconditions"] = {"uid": uid}
        return await self.request("DELETE", path, body)

    async def watch(self, path: str, params: Mapping[str, Any]) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        p = {**params, "watch": "true", "allowWatchBookmarks": "true"}
        timeout = aiohttp.ClientTimeout(total=None, sock_read=float(p.get("timeoutSeconds", 300)) + 30)
        async with self.session().get(self.url(path, p), ssl=self.ssl, timeout=timeout) as r:
            if r.status >= 400:
                raise _error(r.status, await r.text())
            async for line in r.content:
                if not line.strip():
                    continue
                ev = json.loads(line)
                if ev.get("type") == "ERROR":
                    obj = ev.get("object") or {}
                    raise ApiError(int(obj.get("code") or 500), str(obj.get("reason") or ""),
                                   str(obj.get("message") or ""))
                yield str(ev.get("type")), ev.get("object") or {}


def _error(code: int, text: str) -> ApiError:
    try:
        st = json.loads(text)
        return ApiError(code, str(st.get("reason") or ""), str(st.get("message") or text))
    except (ValueError, AttributeError):
        return ApiError(code, "", text[:500])
