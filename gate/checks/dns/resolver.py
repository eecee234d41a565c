"""The one resolver the dns check uses: bounded, retried, fail-closed, and chasing CNAMEs itself.

Why not plain `dns.resolver.Resolver.resolve`: an authoritative server (or a recursive one with a
quirk) may answer a name with its CNAME and stop, because the target lives in another zone; the
check must then ask for the target itself, or a dangling CNAME looks like a missing name. And a
SERVFAIL or a timeout must never read as "no record": every such failure is recorded, so the
check can fail closed even when a library (checkdmarc) swallowed the exception.

`GateResolver` is still a `dns.resolver.Resolver`, so checkdmarc's functions take it as their
`resolver=` and go through the same chasing, limits and failure bookkeeping.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.rrset

MAX_CHAIN = 8  # CNAME hops; RFC 1034 sets no limit, resolvers stop around 8-16
MAX_QUERIES = 600  # per run: a hostile zone (include or CNAME fan-out) cannot keep the gate busy
STRIKES = 2  # queries a server may ignore on every attempt before it is dead for the run
EDNS_PAYLOAD = 1232  # the DNS Flag Day 2020 size: large enough for DNSKEY sets, no fragmentation


class ResolutionFailed(dns.exception.DNSException):
    """The resolver could not get an answer (timeout, SERVFAIL, REFUSED): nothing is known."""

    def __init__(self, name: str, rdtype: str, reason: str) -> None:
        super().__init__(f"could not resolve {name} {rdtype}: {reason}")  # type: ignore[no-untyped-call]
        self.name = name
        self.rdtype = rdtype
        self.reason = reason


def parse_address(text: str) -> tuple[str, int]:
    """`IP`, `IP:PORT`, or `[IPv6]:PORT` as a (host, port) pair; raises ValueError otherwise."""
    text = text.strip()
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(text)
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = int(port_text)
    ipaddress.ip_address(host)
    if not 0 < port < 65536:
        raise ValueError(text)
    return host, port


def server_text(host: str, port: int) -> str:
    """`IP:PORT`, with an IPv6 address in brackets as in URLs: `[::1]:5353`."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class Resolution:
    """Where one name leads for one record type, CNAMEs followed by the gate."""

    name: str
    rdtype: str
    chain: tuple[str, ...] = ()  # CNAME targets in the order they were followed
    rrset: dns.rrset.RRset | None = None
    nxdomain: bool = False  # the end of the chain does not exist
    loop: bool = False
    too_long: bool = False
    response: dns.message.Message | None = None

    @property
    def end(self) -> str:
        return self.chain[-1] if self.chain else self.name

    @property
    def values(self) -> list[str]:
        return [] if self.rrset is None else sorted(rdata.to_text() for rdata in self.rrset)

    @property
    def texts(self) -> list[str]:
        """TXT records as receivers read them: the character-strings joined, undecodable bytes replaced."""
        if self.rrset is None or self.rrset.rdtype != dns.rdatatype.TXT:
            return []
        return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in self.rrset]

    def signatures(self) -> list[dns.rrset.RRset]:
        """RRSIGs over the final record set, when the server sent them (DO bit)."""
        if self.response is None or self.rrset is None:
            return []
        return [
            rrset
            for rrset in self.response.answer
            if rrset.rdtype == dns.rdatatype.RRSIG
            and rrset.covers == self.rrset.rdtype
            and rrset.name == self.rrset.name
        ]


def _name(text: str | dns.name.Name) -> dns.name.Name:
    return text if isinstance(text, dns.name.Name) else dns.name.from_text(text)


def _plain(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


class GateResolver(dns.resolver.Resolver):
    """Asks the configured servers (or the system's) with timeouts, retries and a query budget."""

    def __init__(self, addresses: str | Sequence[str] | None = None, *, timeout: float = 2.0, retries: int = 2) -> None:
        super().__init__(configure=addresses is None)
        if addresses is not None:
            # Several servers are asked in order; one that refuses or fails hands over to the next.
            self.servers = [parse_address(a) for a in ([addresses] if isinstance(addresses, str) else addresses)]
        else:
            self.servers = [(str(ns), self.port) for ns in self.nameservers if isinstance(ns, str)]
            if not self.servers:
                raise ResolutionFailed("(any)", "-", "the system has no DNS resolver configured (/etc/resolv.conf)")
        self.query_timeout = timeout
        self.retries = retries
        self.failures: list[ResolutionFailed] = []
        self.queries = 0
        # Servers that stopped answering: asked no more this run, so one dead server costs one
        # timeout, not one per query (with [dead, good], 40 queries took 80 s instead of 0.5 s).
        self.dead: dict[tuple[str, int], str] = {}
        # Queries a server ignored on every attempt. One is not enough to give up on it: some
        # servers drop only odd types (the obsolete SPF type, whose failure changes no verdict).
        self._strikes: dict[tuple[str, int], int] = {}
        self._memo: dict[tuple[str, str], Resolution | ResolutionFailed] = {}

    def describe(self) -> str:
        return ", ".join(server_text(host, port) for host, port in self.servers)

    def _exchange(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.message.Message:
        query = dns.message.make_query(name, rdtype, use_edns=0, payload=EDNS_PAYLOAD, want_dnssec=True)
        problems: list[str] = []
        silent: dict[tuple[str, int], int] = {}  # server -> attempts of this query it did not answer
        asked = 0
        for _attempt in range(self.retries + 1):
            for server in self.servers:
                if server in self.dead:
                    continue
                if self.queries >= MAX_QUERIES:
                    raise ResolutionFailed(
                        _plain(name), dns.rdatatype.to_text(rdtype), f"more than {MAX_QUERIES} DNS queries in one run"
                    )
                self.queries += 1
                asked += 1
                problem = self._ask(query, server)
                if isinstance(problem, dns.message.Message):
                    # Whoever stayed silent while this one answered is down, not the network.
                    self.dead.update((s, f"no answer from {server_text(*s)}") for s in silent)
                    return problem
                problems.append(problem[0])
                if problem[1]:
                    silent[server] = silent.get(server, 0) + 1
        for server, misses in silent.items():
            if misses > self.retries:
                self._strikes[server] = self._strikes.get(server, 0) + 1
                if self._strikes[server] >= STRIKES:
                    self.dead[server] = f"no answer from {server_text(*server)} to {STRIKES} queries"
        if not asked:
            reason = "every resolver stopped answering earlier in this run (" + "; ".join(self.dead.values()) + ")"
            raise ResolutionFailed(_plain(name), dns.rdatatype.to_text(rdtype), reason)
        tries = self.retries + 1
        raise ResolutionFailed(
            _plain(name), dns.rdatatype.to_text(rdtype), f"{problems[-1]} ({tries} attempt{'s' * (tries > 1)})"
        )

    def _ask(self, query: dns.message.Message, server: tuple[str, int]) -> dns.message.Message | tuple[str, bool]:
        """The server's usable answer, or what went wrong and whether the server was silent."""
        host, port = server
        where = server_text(host, port)
        try:
            response, _ = dns.query.udp_with_fallback(query, host, timeout=self.query_timeout, port=port)
        except dns.exception.Timeout:
            return f"no answer from {where} within {self.query_timeout:g}s", True
        except OSError as error:
            return f"{where}: {error}", True
        except dns.exception.DNSException as error:
            return f"{where}: {error}", False
        rcode = response.rcode()
        if rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            return response
        return f"{where} answered {dns.rcode.to_text(rcode)}", False

    def chase(self, qname: str | dns.name.Name, rdtype: str | dns.rdatatype.RdataType = "A") -> Resolution:
        """Follow CNAMEs from `qname` until a record set of `rdtype`, NODATA, NXDOMAIN, a loop or the limit.

        Raises `ResolutionFailed` (and records it) when a server cannot answer.
        """
        start = _name(qname)
        kind = dns.rdatatype.RdataType.make(rdtype)
        key = (_plain(start), dns.rdatatype.to_text(kind))
        memo = self._memo.get(key)
        if isinstance(memo, ResolutionFailed):
            # Recorded again: a caller that swallows it must still find it in `failures`.
            self.failures.append(memo)
            raise memo
        if memo is not None:
            return memo
        try:
            result = self._chase(start, kind)
        except ResolutionFailed as failure:
            self.failures.append(failure)
            self._memo[key] = failure
            raise
        self._memo[key] = result
        return result

    def addresses(self, name: str) -> tuple[Resolution, list[str]]:
        """Where `name` leads (CNAMEs followed) and the A and AAAA addresses at the end."""
        res = self.chase(name, "A")
        found = res.values
        if not (res.nxdomain or res.loop or res.too_long):
            found = found + self.chase(name, "AAAA").values
        return res, found

    def _chase(self, start: dns.name.Name, kind: dns.rdatatype.RdataType) -> Resolution:
        chain: list[dns.name.Name] = []
        seen = {start}
        current = start
        asked, kind_text = _plain(start), dns.rdatatype.to_text(kind)
        while True:
            response = self._exchange(current, kind)
            # Walk whatever part of the chain this server already gave us.
            while True:
                found = self._find(response, current, kind)
                if found is not None:
                    return Resolution(asked, kind_text, chain=tuple(map(_plain, chain)), rrset=found, response=response)
                cname = self._find(response, current, dns.rdatatype.CNAME) if kind != dns.rdatatype.CNAME else None
                if cname is None:
                    break
                target = cname[0].target
                if target in seen:
                    return Resolution(
                        asked, kind_text, chain=tuple(map(_plain, [*chain, target])), loop=True, response=response
                    )
                if len(chain) >= MAX_CHAIN:
                    return Resolution(
                        asked, kind_text, chain=tuple(map(_plain, [*chain, target])), too_long=True, response=response
                    )
                chain.append(target)
                seen.add(target)
                current = target
            if self._answers_for(response, current):
                # The server stopped at a CNAME whose target it does not serve: ask for the target.
                continue
            nxdomain = response.rcode() == dns.rcode.NXDOMAIN
            return Resolution(asked, kind_text, chain=tuple(map(_plain, chain)), nxdomain=nxdomain, response=response)

    @staticmethod
    def _find(
        response: dns.message.Message, name: dns.name.Name, kind: dns.rdatatype.RdataType
    ) -> dns.rrset.RRset | None:
        for rrset in response.answer:
            if rrset.name == name and rrset.rdtype == kind and rrset.rdclass == dns.rdataclass.IN:
                return rrset
        return None

    @staticmethod
    def _answers_for(response: dns.message.Message, name: dns.name.Name) -> bool:
        """True when the response is about another name than `name` (we followed a CNAME in it)."""
        return bool(response.question[0].name != name)

    def resolve(
        self,
        qname: dns.name.Name | str,
        rdtype: dns.rdatatype.RdataType | str = dns.rdatatype.A,
        rdclass: dns.rdataclass.RdataClass | str = dns.rdataclass.IN,
        tcp: bool = False,
        source: str | None = None,
        raise_on_no_answer: bool = True,
        source_port: int = 0,
        lifetime: float | None = None,
        search: bool | None = None,
    ) -> dns.resolver.Answer:
        """dnspython's contract on top of `chase`, for libraries that take a Resolver."""
        name = _name(qname)
        kind = dns.rdatatype.RdataType.make(rdtype)
        result = self.chase(name, kind)
        response = dns.message.make_response(dns.message.make_query(name, kind))
        response.flags |= dns.flags.RA
        previous = name
        records = []
        for target in result.chain:
            target_name = dns.name.from_text(target)
            records.append(dns.rrset.from_text(previous, 300, "IN", "CNAME", target_name.to_text()))
            previous = target_name
        if result.rrset is not None:
            records.append(result.rrset)
        for rrset in records:
            # find_rrset(create=True) keeps the message's index in step; a plain append would not.
            section = response.find_rrset(
                response.answer, rrset.name, rrset.rdclass, rrset.rdtype, rrset.covers, create=True
            )
            section.update(rrset)  # type: ignore[no-untyped-call]
        if result.nxdomain:
            response.set_rcode(dns.rcode.NXDOMAIN)
            raise dns.resolver.NXDOMAIN(qnames=[name], responses={name: response})  # type: ignore[no-untyped-call]
        if result.loop or result.too_long:
            raise dns.resolver.NoAnswer(response=response)  # type: ignore[no-untyped-call]
        assert isinstance(response, dns.message.QueryMessage)
        answer = dns.resolver.Answer(name, kind, dns.rdataclass.IN, response)
        if answer.rrset is None and raise_on_no_answer:
            raise dns.resolver.NoAnswer(response=response)  # type: ignore[no-untyped-call]
        return answer
