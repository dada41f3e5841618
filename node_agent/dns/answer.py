"""Answer one DNS query from a Zone (pure): authoritative for the cluster domain and for the reverse names of
cluster addresses the zone knows (PTR); None for other names (forward).

Rules: A/SRV/CNAME from the zone; a CNAME to another in-zone name is followed within the answer; a name that exists
with no record of the asked type gets NOERROR with an empty answer (NODATA); an unknown in-zone name gets NXDOMAIN.
"""

from __future__ import annotations

from dnslib import CNAME, PTR, QTYPE, RCODE, RR, SRV, A, DNSRecord

from node_agent.dns.records import TTL_S, Zone


def answer(zone: Zone, request: DNSRecord) -> DNSRecord | None:
    q = request.q
    name = str(q.qname).lower()
    qtype = QTYPE[q.qtype]
    if name in zone.ptr:
        reverse = request.reply()
        reverse.header.aa = 1
        if qtype in ("PTR", "ANY"):
            for target in zone.ptr[name]:
                reverse.add_answer(RR(name, QTYPE.PTR, rdata=PTR(target), ttl=TTL_S))
        return reverse
    if not zone.in_zone(name):
        return None
    reply = request.reply()
    reply.header.aa = 1
    seen: set[str] = set()
    current = name
    while current in zone.cname and current not in seen and qtype != "CNAME":
        seen.add(current)
        target = zone.cname[current]
        reply.add_answer(RR(current, QTYPE.CNAME, rdata=CNAME(target), ttl=TTL_S))
        current = target
        if not zone.in_zone(current):
            return reply   # the client's resolver chases an external target
    if qtype in ("A", "ANY") and current in zone.a:
        for ip in zone.a[current]:
            reply.add_answer(RR(current, QTYPE.A, rdata=A(ip), ttl=TTL_S))
    if qtype in ("SRV", "ANY") and current in zone.srv:
        for srv in zone.srv[current]:
            reply.add_answer(RR(current, QTYPE.SRV, rdata=SRV(srv.priority, srv.weight, srv.port, srv.target),
                                ttl=TTL_S))
            for ip in zone.a.get(srv.target, []):
                reply.add_ar(RR(srv.target, QTYPE.A, rdata=A(ip), ttl=TTL_S))
    if qtype == "CNAME" and current in zone.cname:
        reply.add_answer(RR(current, QTYPE.CNAME, rdata=CNAME(zone.cname[current]), ttl=TTL_S))
    if not reply.rr and not zone.exists(current):
        reply.header.rcode = RCODE.NXDOMAIN
    return reply
