"""The node's NetworkPolicy enforcer: watch NetworkPolicies, Pods and Namespaces; keep ``inet kemu_netpol`` in step.

Runs inside the per-node proxy process (``python -m node_agent.proxy --node-name N``; ``--no-network-policy``
turns it off) or alone (``python -m node_agent.netpol``), in the node's network namespace or aimed at it
(``netns``), with the node's credentials (RBAC ``kemu:network-policy-agent``). It makes sure bridged traffic
crosses the IPv4 hooks there (``net.bridge.bridge-nf-call-iptables=1``, the br_netfilter setting Kubernetes
networking needs).
Level-triggered: every change marks the view dirty; after ``resync_delay_s`` of quiet the whole ruleset is
recompiled from the three caches (node_agent/netpol/policy.py, ruleset.py) and, if its text changed, applied in one
``nft -f`` transaction. A failed apply is retried after 1 s. Pod status churn that changes nothing policy-relevant
costs one compile and a string compare, never an nft call.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time
from collections.abc import Callable, Coroutine
from typing import Any

from kemu.syscmd import run
from node_agent.kubelet.apiclient import ApiClient
from node_agent.netpol.policy import compile_node, dns_peer
from node_agent.netpol.ruleset import FAMILY, TABLE, ruleset
from node_agent.reflector import Reflector

log = logging.getLogger("node_agent.netpol")


def _prefix(netns: str) -> list[str]:
    return ["nsenter", f"--net=/run/netns/{netns}"] if netns else []


def nft_runner(netns: str = "") -> Callable[[str], None]:
    """Apply an nft script here, or inside the named network namespace."""
    def apply(script: str) -> None:
        run([*_prefix(netns), "nft", "-f", "-"], input_text=script)
    return apply


def bridged_traffic_filtered(netns: str = "") -> bool:
    """Whether bridged IPv4 traffic crosses the inet hooks in the node's network namespace; turned on if possible
    (same-node pod-to-pod packets are bridged, and policy must see them)."""
    key = "net.bridge.bridge-nf-call-iptables"
    try:
        if run([*_prefix(netns), "sysctl", "-n", key]).stdout.strip() != "1":
            run([*_prefix(netns), "sysctl", "-q", "-w", f"{key}=1"])
        return run([*_prefix(netns), "sysctl", "-n", key]).stdout.strip() == "1"
    except (RuntimeError, OSError, subprocess.TimeoutExpired):
        return False


class NetpolAgent:
    def __init__(self, api: ApiClient, node_name: str, dns_address: str = "", netns: str = "",
                 resync_delay_s: float = 0.1) -> None:
        self.node_name = node_name
        self.dns_address = dns_address
        self.netns = netns
        self.apply = nft_runner(netns)
        self.resync_delay_s = resync_delay_s
        self.policies = Reflector(api, "/apis/networking.k8s.io/v1/networkpolicies", self.changed)
        self.pods = Reflector(api, "/api/v1/pods", self.changed)
        self.namespaces = Reflector(api, "/api/v1/namespaces", self.changed)
        self._dirty = asyncio.Event()
        self.last_rules = ""
        self.syncs = 0

    def changed(self) -> None:
        self._dirty.set()

    def coroutines(self) -> list[Coroutine[Any, Any, None]]:
        return [self.policies.run(), self.pods.run(), self.namespaces.run(), self.sync_loop()]

    def snapshot(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """The three caches as lists (taken on the event loop, so a compile in a thread sees a fixed view)."""
        return (list(self.policies.items.values()), list(self.pods.items.values()),
                list(self.namespaces.items.values()))

    def compile(self, view: tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]] | None = None
                ) -> str:
        policies, pods, namespaces = view or self.snapshot()
        extra = [dns_peer(self.dns_address, self.node_name)] if self.dns_address else []
        return ruleset(compile_node(policies, pods, namespaces, self.node_name, extra), self.dns_address)

    async def sync_loop(self) -> None:
        if not await asyncio.to_thread(bridged_traffic_filtered, self.netns):
            log.warning("bridged traffic does not reach the IPv4 hooks here: same-node pod traffic is not filtered")
        await asyncio.gather(self.policies.synced.wait(), self.pods.synced.wait(), self.namespaces.synced.wait())
        while True:
            await self._dirty.wait()
            await asyncio.sleep(self.resync_delay_s)   # one transaction per burst of events
            self._dirty.clear()
            # compiled off the event loop: the proxy's DNS server shares it (about 0.1 s for 1,000 pods and 100
            # policies here)
            rules = await asyncio.to_thread(self.compile, self.snapshot())
            if rules == self.last_rules:
                continue
            t0 = time.monotonic()
            try:
                await asyncio.to_thread(self.apply, rules)
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                log.error("programming %s %s failed: %s", FAMILY, TABLE, e)
                self._dirty.set()
                await asyncio.sleep(1.0)
                continue
            self.last_rules = rules
            self.syncs += 1
            log.info("programmed %d network policies in %.1f ms", len(self.policies.items),
                     (time.monotonic() - t0) * 1000)
