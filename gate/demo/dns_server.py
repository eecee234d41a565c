"""A small authoritative DNS server on loopback, for `gate demo` only.

The demo must run on a machine that has nothing but `pip install launch-gate`, so it cannot
count on nsd or knot; the tests use the real nsd. This answers the demo's zones the way an
authoritative server does (AA, NXDOMAIN and NODATA with the SOA, CNAMEs followed into the zones it serves,
REFUSED outside its zones) over UDP and TCP, with bounded message sizes and a stop flag.
"""

from __future__ import annotations

import selectors
import socket
import struct
import threading
from collections.abc import Mapping

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

MAX_CNAME_HOPS = 8
TCP_TIMEOUT_S = 2.0


class LoopbackDnsServer:
    def __init__(self, zones: Mapping[str, str]) -> None:
        self.zones = [
            dns.zone.from_text(text, origin=dns.name.from_text(origin), relativize=False)
            for origin, text in zones.items()
        ]
        self.port = 0
        self._stop = threading.Event()
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> LoopbackDnsServer:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        self.port = udp.getsockname()[1]
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(("127.0.0.1", self.port))
        tcp.listen(8)
        self._udp, self._tcp = udp, tcp
        self._thread = threading.Thread(target=self._serve, name="demo-dns", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for sock in (self._udp, self._tcp):
            if sock is not None:
                sock.close()

    def _serve(self) -> None:
        assert self._udp is not None and self._tcp is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._udp, selectors.EVENT_READ)
            selector.register(self._tcp, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.1):
                    if key.fileobj is self._udp:
                        wire, peer = self._udp.recvfrom(4096)
                        reply = self._reply(wire, 1232)
                        if reply is not None:
                            self._udp.sendto(reply, peer)
                    else:
                        self._serve_tcp()

    def _serve_tcp(self) -> None:
        assert self._tcp is not None
        conn, _ = self._tcp.accept()
        with conn:
            conn.settimeout(TCP_TIMEOUT_S)
            try:
                (length,) = struct.unpack("!H", conn.recv(2, socket.MSG_WAITALL))
                reply = self._reply(conn.recv(length, socket.MSG_WAITALL), 65535)
                if reply is not None:
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
            except (OSError, struct.error):
                return

    def _reply(self, wire: bytes, max_size: int) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None  # not DNS: drop it, as real servers do with garbage
        response = self.answer(query)
        try:
            return response.to_wire(max_size=max_size)
        except dns.exception.TooBig:
            response.answer.clear()
            response.flags |= dns.flags.TC
            return response.to_wire(max_size=max_size)

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        # A DS record belongs to the parent side of the zone cut (RFC 4034 section 5).
        zone = self._zone_for(question.name, parent_side=question.rdtype == dns.rdatatype.DS)
        if zone is None:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        response.flags |= dns.flags.AA
        name = question.name
        for _hop in range(MAX_CNAME_HOPS):
            node = zone.get_node(name)
            if node is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
                break
            found = node.get_rdataset(dns.rdataclass.IN, question.rdtype)
            if found is not None:
                response.answer.append(dns.rrset.from_rdata_list(name, found.ttl, list(found)))
                return response
            cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None or question.rdtype == dns.rdatatype.CNAME:
                break
            response.answer.append(dns.rrset.from_rdata_list(name, cname.ttl, list(cname)))
            name = cname[0].target
            # Like nsd: follow the CNAME into any zone served here; beyond them the asker follows it.
            next_zone = self._zone_for(name)
            if next_zone is None:
                return response
            zone = next_zone
        assert zone.origin is not None
        soa = zone.get_rdataset(zone.origin, dns.rdatatype.SOA)
        if soa is not None:
            response.authority.append(dns.rrset.from_rdata_list(zone.origin, soa.ttl, list(soa)))
        return response

    def _zone_for(self, name: dns.name.Name, parent_side: bool = False) -> dns.zone.Zone | None:
        matching = [
            zone
            for zone in self.zones
            if zone.origin is not None and name.is_subdomain(zone.origin) and not (parent_side and name == zone.origin)
        ]
        return max(matching, key=lambda zone: len(zone.origin or dns.name.root), default=None)
