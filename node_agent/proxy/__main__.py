"""``python -m node_agent.proxy``: the per-node service proxy and cluster DNS, fed by the apiserver.

    python -m node_agent.proxy --apiserver URL --token-file F [--ca-file F] [--netns NAME]
        [--dns-listen IP:PORT] [--upstream-dns IP[:PORT] ...] [--upstream-netns PATH] [--resync-delay 0.1]
        [--verify-interval 30] [--pod-routes --node-name N]

Watches Services and EndpointSlices (list + watch, relist on 410) and, after changes (at most one pass per
``--resync-delay``: a change after a quiet spell goes out at once, later ones gather into the next pass, as
kube-proxy's minSyncPeriod), brings the node's ``ip kemu_proxy`` nftables table to the wanted state in one
transaction (in-process libnftables where the process runs; ``nft -f`` inside network namespace ``--netns`` when
given): the whole table the first time, afterwards only the difference (node_agent/proxy/rules.py). The same view
feeds the DNS server's zone when ``--dns-listen`` is set; names outside the cluster domain are forwarded to
``--upstream-dns`` (default: the nameservers of /etc/resolv.conf), from network namespace ``--upstream-netns`` when
given. Rules are reconciled: deleting a Service removes its rules on the next pass; a restarted proxy whose wanted
table equals the kernel's (same fingerprint) leaves it untouched, otherwise it replaces it atomically, and conntrack
keeps established connections either way. After ``--verify-interval`` (30 s) without changes it checks the kernel
still holds its table (same fingerprint) and replaces it when not.

With ``--pod-routes`` it also routes every other node's ``spec.podCIDR`` via that node's InternalIP (what a
host-gateway CNI such as flannel's host-gw does), so pods on different nodes reach each other across the underlay.
With ``--node-name`` it also enforces NetworkPolicy for that node's pods (node_agent/netpol, table ``inet
kemu_netpol``; the ``--dns-listen`` address stands for kube-dns); ``--no-network-policy`` turns that off.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import subprocess
import sys
import time
from typing import Any

from node_agent.dns.records import Zone, build_zone
from node_agent.dns.server import DnsServer
from node_agent.dns.upstream import host_nameservers, host_netns_path, parse_hostport
from node_agent.kubelet.apiclient import ApiClient
from node_agent.netpol.agent import NetpolAgent
from node_agent.process import add_apiserver_flags, api_client, wait_for_stop_signal
from node_agent.proxy import libnft, rules
from node_agent.proxy.rules import TABLE, Model
from node_agent.reflector import Reflector

log = logging.getLogger("node_agent.proxy")


def _hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def pod_routes(nodes: list[dict[str, Any]], self_name: str) -> dict[str, str]:
    """podCIDR -> next hop (InternalIP) for every other node that has both (pure)."""
    out = {}
    for n in nodes:
        if (n.get("metadata") or {}).get("name") == self_name:
            continue
        cidr = (n.get("spec") or {}).get("podCIDR")
        addrs = {a.get("type"): a.get("address") for a in (n.get("status") or {}).get("addresses") or []}
        if cidr and addrs.get("InternalIP"):
            out[cidr] = addrs["InternalIP"]
    return out


class Proxy:
    def __init__(self, api: ApiClient, netns: str, resync_delay_s: float, node_name: str = "",
                 routes: bool = False) -> None:
        self.netns = netns
        self.node_name = node_name
        self.nodes = Reflector(api, "/api/v1/nodes", self.changed) if routes else None
        self.routes: dict[str, str] = {}
        self.resync_delay_s = resync_delay_s
        self.services = Reflector(api, "/api/v1/services", self.changed)
        self.slices = Reflector(api, "/apis/discovery.k8s.io/v1/endpointslices", self.changed)
        self.zone: Zone | None = None   # None until the first sync: DNS answers SERVFAIL, not a false NXDOMAIN
        self._dirty = asyncio.Event()
        self.programmed: Model | None = None   # what the kernel holds, as far as we know; None: read it first
        self.syncs = 0
        # in-process libnftables (keeps its ruleset cache: a small delta costs ~1 ms, not a process and a re-read);
        # the `nft` command inside --netns otherwise
        self.lib = libnft.Nft() if not netns and libnft.available() else None
        self.verify_interval_s = 30.0   # quiet this long: check the kernel still holds our table

    def changed(self) -> None:
        self._dirty.set()

    def _run(self, argv: list[str], stdin: str | None = None) -> str:
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        result = subprocess.run(argv, input=stdin, text=True, capture_output=True, timeout=30)
        if result.returncode != 0:
            raise RuntimeError(f"{argv[0] if not self.netns else argv[4]} failed: {result.stderr.strip()}")
        return result.stdout

    def _nft(self, rules: str) -> None:
        if self.lib is not None:
            self.lib.run(rules)
        else:
            self._run(["nft", "-f", "-"], rules)

    def _kernel_fingerprint(self) -> str | None:
        listing = ["list", "chain", "ip", TABLE, rules.STATE_CHAIN]
        try:
            text = self.lib.run(" ".join(listing)) if self.lib is not None else self._run(["nft", *listing])
            return rules.fingerprint_in(text)
        except RuntimeError:      # no table yet (NftError is one too)
            return None

    def _script(self, model: Model) -> tuple[str, str]:
        """(how, nft script) to take the kernel to `model`; an empty script when it is there already."""
        if self.programmed is None:
            if self._kernel_fingerprint() == model.fingerprint():
                return "adopted", ""
            return "full", rules.full_script(model)
        try:
            return "delta", rules.delta_script(self.programmed, model)
        except rules.NeedsFullReload:
            return "full", rules.full_script(model)

    def _sync_routes(self) -> None:
        assert self.nodes is not None
        wanted = pod_routes(list(self.nodes.items.values()), self.node_name)
        for cidr, via in wanted.items():
            if self.routes.get(cidr) != via:
                self._run(["ip", "route", "replace", cidr, "via", via])
        for cidr in set(self.routes) - set(wanted):
            self._run(["ip", "route", "del", cidr])
        self.routes = wanted

    async def _verify(self) -> None:
        """Quiet for a while: is the kernel's table still the one we programmed? (someone may have deleted it)"""
        if self.programmed is None:
            return
        try:
            found = await asyncio.to_thread(self._kernel_fingerprint)
        except (OSError, subprocess.TimeoutExpired) as e:
            log.warning("checking %s: %s", TABLE, e)
            return
        if found != self.programmed.fingerprint():
            log.warning("table %s is not what we programmed (fingerprint %s): replacing it", TABLE, found)
            self.programmed = None
            self._dirty.set()

    async def sync_loop(self) -> None:
        await asyncio.gather(self.services.synced.wait(), self.slices.synced.wait())
        last_pass = -float("inf")
        while True:
            try:
                await asyncio.wait_for(self._dirty.wait(), self.verify_interval_s)
            except TimeoutError:
                await self._verify()
                continue
            # bounded frequency: wait out the rest of resync_delay since the last pass (events arriving meanwhile
            # join this one); a short floor lets events that arrived together land in one transaction
            await asyncio.sleep(max(min(0.01, self.resync_delay_s),
                                    last_pass + self.resync_delay_s - time.monotonic()))
            self._dirty.clear()
            services = list(self.services.items.values())
            slices = list(self.slices.items.values())
            self.zone = build_zone(services, slices)
            if self.nodes is not None and self.nodes.synced.is_set():
                try:
                    await asyncio.to_thread(self._sync_routes)
                except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                    log.error("pod routes: %s", e)
            model = rules.desired(rules.service_ports(services, slices))
            t0 = time.monotonic()
            try:
                how, script = await asyncio.to_thread(self._script, model)
                if script:
                    await asyncio.to_thread(self._nft, script)
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                log.error("programming %s failed: %s", TABLE, e)
                self.programmed = None   # the kernel may differ from what we believed: compare again, then replace
                self._dirty.set()
                await asyncio.sleep(1.0)
                continue
            if script or self.programmed is None:
                log.info("programmed %d services (%s, %d lines) in %.1f ms", len(services), how,
                         script.count("\n"), (time.monotonic() - t0) * 1000)
            self.programmed = model
            self.syncs += 1
            last_pass = time.monotonic()


async def amain(a: argparse.Namespace) -> None:
    api = api_client(a, user_agent="kube-proxy/v1.32.0 (linux/amd64) kemu")
    proxy = Proxy(api, a.netns, a.resync_delay, a.node_name, a.pod_routes)
    proxy.verify_interval_s = a.verify_interval
    tasks = [asyncio.ensure_future(proxy.services.run()), asyncio.ensure_future(proxy.slices.run()),
             asyncio.ensure_future(proxy.sync_loop())]
    if proxy.nodes is not None:
        tasks.append(asyncio.ensure_future(proxy.nodes.run()))
    if a.node_name and a.network_policy:
        netpol = NetpolAgent(api, a.node_name, _hostport(a.dns_listen)[0] if a.dns_listen else "", a.netns,
                             a.resync_delay)
        tasks += [asyncio.ensure_future(c) for c in netpol.coroutines()]
    dns = None
    if a.dns_listen:
        upstreams = [parse_hostport(u) for u in a.upstream_dns] or host_nameservers()
        upstream_netns = host_netns_path() if a.upstream_netns == "host" else a.upstream_netns
        dns = DnsServer(lambda: proxy.zone, upstreams, upstream_netns)
        host, port = _hostport(a.dns_listen)
        await dns.start(host, port)
        log.info("DNS on %s:%d, forwarding to %s%s", host, port, upstreams,
                 f" from {upstream_netns}" if upstream_netns else "")
    await wait_for_stop_signal()
    for t in tasks:
        t.cancel()
    if dns is not None:
        dns.close()
    await api.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m node_agent.proxy", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_apiserver_flags(p)
    p.add_argument("--netns", default="", help="program the rules inside this network namespace")
    p.add_argument("--dns-listen", default="", help="serve cluster DNS on IP:PORT")
    p.add_argument("--upstream-dns", "--upstream", action="append", default=[],
                   help="forward other names to IP[:PORT] (repeatable; default: /etc/resolv.conf's nameservers)")
    p.add_argument("--upstream-netns", default="",
                   help="send forwarded queries from this network namespace (a path, or `host`: the host's)")
    p.add_argument("--resync-delay", type=float, default=0.1)
    p.add_argument("--verify-interval", type=float, default=30.0,
                   help="seconds without changes after which the kernel's table is checked against ours")
    p.add_argument("--pod-routes", action="store_true", help="route other nodes' pod CIDRs via their addresses")
    p.add_argument("--node-name", default="", help="this node (its own pod CIDR is local, not routed)")
    p.add_argument("--no-network-policy", dest="network_policy", action="store_false",
                   help="do not enforce NetworkPolicy for --node-name's pods")
    p.add_argument("--log-level", default="INFO")
    a = p.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=a.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(amain(a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
