"""Service-account controller and root-CA publisher: every active namespace gets the ``default``
ServiceAccount and the ``kube-root-ca.crt`` ConfigMap (``ca.crt``: the cluster CA, when the controller-manager
knows it from --root-ca-file or its kubeconfig); both are recreated if deleted."""

from __future__ import annotations

from typing import Any

from controllers.manager.base import Base
from kemu.rest import CONFIGMAPS, NAMESPACES, SERVICEACCOUNTS, AlreadyExists, NotFound

Obj = dict[str, Any]
ROOT_CA = "kube-root-ca.crt"


class ServiceAccountController(Base):
    name = "serviceaccount"
    component = "service-account-controller"

    def setup(self) -> None:
        self.nss = self.ctx.informer(NAMESPACES)
        self.sas = self.ctx.informer(SERVICEACCOUNTS)
        self.cms = self.ctx.informer(CONFIGMAPS)
        self.nss.add_handler(lambda t, o, n: self.enqueue(n))
        self.sas.add_handler(lambda t, o, n: self._wake(t, o, "default"))
        self.cms.add_handler(lambda t, o, n: self._wake(t, o if t == "DELETED" else n, ROOT_CA))

    def _wake(self, typ: str, obj: Obj | None, name: str) -> None:
        if obj is None:
            return
        md = obj.get("metadata") or {}
        if md.get("name") == name:
            self.enqueue_key(str(md.get("namespace")))

    async def reconcile(self, key: str) -> float | None:
        ns = self.nss.cache.get(key)
        if ns is None or (ns.get("metadata") or {}).get("deletionTimestamp") or \
                (ns.get("status") or {}).get("phase") == "Terminating":
            return None
        if self.sas.cache.get(f"{key}/default") is None:
            try:
                await self.ctx.client.create(SERVICEACCOUNTS, {"apiVersion": "v1", "kind": "ServiceAccount",
                                                               "metadata": {"name": "default", "namespace": key}})
            except (AlreadyExists, NotFound):
                pass
        ca = self.ctx.options.root_ca
        if ca:
            cur = self.cms.cache.get(f"{key}/{ROOT_CA}")
            want = {"ca.crt": ca}
            body: Obj = {"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": ROOT_CA, "namespace": key,
                                      "annotations": {"kubernetes.io/description": _DESCRIPTION}},
                         "data": want}
            try:
                if cur is None:
                    await self.ctx.client.create(CONFIGMAPS, body)
                elif cur.get("data") != want:
                    await self.ctx.client.update(CONFIGMAPS, {**cur, "data": want})
            except (AlreadyExists, NotFound):
                pass
        return None


_DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
                "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
                "distributions of Kubernetes clusters.")
