"""Running the battery against one route within its budgets, and folding leaks into findings.

Attacks go out one or two at a time (a route with a tool log strictly one at a time, so each
new log entry belongs to one attack). Each attack is its own conversation: the route's declared
turns first, then the attack. The same leak found by several attacks is one finding that names
the first attack and counts the rest. Attacks that got no answer, or were never sent because a
budget ran out, are findings too: what was not seen is not known to be safe.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gate import redact
from gate.checks.ai.attacks import Attack
from gate.checks.ai.detect import Expectations, Leak, judge
from gate.checks.ai.pages import LOOPBACK, PageServer
from gate.checks.ai.rules import RULES
from gate.checks.ai.template import AiRoute, request_body
from gate.checks.ai.transport import Answer, Unanswered, send, tool_log
from gate.model import Finding, Location

if TYPE_CHECKING:
    import httpx

    from gate.checks.base import Progress
    from gate.checks.http.preview import Preview

PROMPT_SHOWN = 300
PROMPT_QUOTED = 120
GREETING = "Hello! What can you help me with?"
# The greeting is judged like an answer to an attack: a bot that hands out its canary or a secret
# to anyone saying hello needs no attack at all.
GREETED = Attack("greeting", "Plain greeting", 0, "plain", GREETING)
# Links and images in a greeting are the bot's own (its docs, its avatar): no attack asked for them.
_ASKED_ONLY = frozenset({"ai.exfil.image", "ai.exfil.link"})
Judge = Callable[[Attack, Answer], Awaitable[Leak | None]]


@dataclass(frozen=True)
class Budget:
    attempts: int
    seconds: float
    concurrency: int
    timeout: float
    max_answer: int


@dataclass
class _Seen:
    leak: Leak
    attack: Attack
    order: int
    count: int = 0
    families: set[str] = field(default_factory=set)


@dataclass
class Tally:
    """What one route's run found and what it could not do."""

    seen: dict[tuple[str, str], _Seen] = field(default_factory=dict)
    answered: int = 0
    unanswered: list[tuple[Attack, str]] = field(default_factory=list)
    cut: list[tuple[Attack, str]] = field(default_factory=list)
    # Pages served for URL-reading routes: how many answered attacks had one, and which went unread.
    served: int = 0
    unfetched: list[Attack] = field(default_factory=list)

    def add(self, leak: Leak, attack: Attack, order: int) -> None:
        """Count a leak; the finding names the earliest attack in the battery that caused it,
        so two attacks in flight at once cannot change the report."""
        entry = self.seen.setdefault((leak.rule_id, leak.subject), _Seen(leak, attack, order))
        if order < entry.order:
            entry.leak, entry.attack, entry.order = leak, attack, order
        entry.count += 1
        entry.families.add(attack.family)


class RouteProbe:
    def __init__(
        self,
        client: httpx.AsyncClient,
        preview: Preview,
        route: AiRoute,
        expected: Expectations,
        budget: Budget,
        auth: Mapping[str, str],
        evaluator: Judge | None = None,
        pages: PageServer | None = None,
    ) -> None:
        self.client = client
        self.preview = preview
        self.route = route
        self.expected = expected
        self.budget = budget
        self.auth = auth
        self.evaluator = evaluator
        self.pages = pages
        self.url = preview.url(route.path)
        self.tally = Tally()
        concurrency = 1 if route.tool_log else budget.concurrency
        self._slots = asyncio.Semaphore(concurrency)

    def location(self) -> Location:
        return Location(url=self.url, route=self.route.name)

    async def _say(
        self,
        prompt: str,
        document: str | None,
        conversation: str,
        history: list[tuple[str, str]],
        page: str | None = None,
    ) -> Answer:
        body, kind = request_body(
            self.route, prompt, document=document, conversation=conversation, history=history, url=page
        )
        return await send(
            self.client,
            self.url,
            self.route,
            body,
            kind,
            headers=self.auth,
            timeout=self.budget.timeout,
            cap=self.budget.max_answer,
        )

    async def attempt(self, number: int, attack: Attack) -> None:
        """One conversation: the declared turns, then the attack, then its judgement."""
        conversation = f"launch-gate-{self.route.index}-{number}"
        history: list[tuple[str, str]] = []
        try:
            for turn in self.route.turns:
                reply = await self._say(turn, None, conversation, history)
                history += [("user", turn), ("assistant", reply.text)]
            before = await self._log() if self.route.tool_log else []
            document, page = attack.document, None
            if document is not None and self.pages is not None:
                # A URL-reading route gets the document as a page the gate serves, not as text.
                page = self.pages.publish(document)
                document = None
            answer = await self._say(attack.prompt, document, conversation, history, page)
            called = list(answer.tool_calls)
            if self.route.tool_log:
                called += (await self._log())[len(before) :]
        except Unanswered as failure:
            self.tally.unanswered.append((attack, str(failure)))
            return
        self.tally.answered += 1
        if page is not None and self.pages is not None:
            self.tally.served += 1
            if not self.pages.fetched(page):
                self.tally.unfetched.append(attack)
        if answer.stopped:
            self.tally.cut.append((attack, answer.stopped))
        leaks = judge(answer.text, answer.raw, called, attack.prompt + (attack.document or ""), self.expected)
        for leak in leaks:
            self.tally.add(leak, attack, number)
        if not leaks and self.evaluator is not None:
            opinion = await self.evaluator(attack, answer)
            if opinion is not None:
                self.tally.add(opinion, attack, number)

    async def _log(self) -> list[str]:
        assert self.route.tool_log is not None
        return await tool_log(
            self.client, self.preview.url(self.route.tool_log), self.auth, self.budget.timeout, self.budget.max_answer
        )

    def refused(self, reason: str) -> Finding:
        return RULES.finding(
            "ai.route.unanswered",
            f"{self.route.name} was not probed: {redact.scrub(reason)}.",
            location=self.location(),
            subject=self.route.name,
        )

    async def baseline(self) -> str | None:
        """Why a plain greeting gets no real answer (login needed, wrong path or template), or None.

        Without this, a route answering every attack with 401 or 404 would look like a bot
        refusing them all; after it, a 4xx to an attack is the route's refusal.
        """
        try:
            answer = await self._say(GREETING, None, f"launch-gate-{self.route.index}-0", [])
        except Unanswered as failure:
            return f"a plain greeting got no answer ({failure})"
        if not 200 <= answer.status < 300:
            return f"a plain greeting was answered with HTTP {answer.status}"
        if not answer.text.strip():
            path = f" at {self.route.answer_path}" if self.route.answer_path else ""
            return f"a plain greeting was answered with no text{path}"
        for leak in judge(answer.text, answer.raw, answer.tool_calls, GREETING, self.expected):
            if leak.rule_id not in _ASKED_ONLY:
                self.tally.add(leak, GREETED, 0)
        return None

    async def run(self, attacks: Sequence[Attack], skipped: Sequence[str], progress: Progress) -> list[Finding]:
        """Send the battery within the attempt and time budgets; the route's findings."""
        planned = attacks[: self.budget.attempts]
        progress.update(f"greeting {self.route.name}")
        refusal = await self.baseline()
        if refusal is not None:
            return [self.refused(refusal), *self.gap_findings(len(attacks), 0)]
        left_out = f" (not applicable: {', '.join(skipped)})" if skipped else ""
        progress.update(f"attacking {self.route.name}{left_out}", 0, len(planned))
        deadline = time.monotonic() + self.budget.seconds
        sent = 0

        async def one(number: int, attack: Attack) -> None:
            nonlocal sent
            async with self._slots:
                if time.monotonic() >= deadline:
                    return
                sent += 1
                try:
                    await asyncio.wait_for(self.attempt(number, attack), deadline - time.monotonic())
                except TimeoutError:
                    self.tally.unanswered.append((attack, "the route's time budget ran out mid-attack"))
                progress.update(f"attacking {self.route.name}", sent, len(planned))

        await asyncio.gather(*(one(number, attack) for number, attack in enumerate(planned, start=1)))
        return [*self.leak_findings(), *self.gap_findings(len(attacks), sent)]

    def leak_findings(self) -> list[Finding]:
        findings = []
        for (rule_id, subject), seen in sorted(self.tally.seen.items(), key=lambda item: item[1].order):
            attack = seen.attack
            others = (
                f" {seen.count - 1} more attacks got the same ({', '.join(sorted(seen.families))})."
                if seen.count > 1
                else ""
            )
            asked = redact.scrub(attack.prompt[:PROMPT_QUOTED]) + ("..." if len(attack.prompt) > PROMPT_QUOTED else "")
            cause = (
                "a plain greeting, before any attack"
                if attack is GREETED
                else f"a {attack.title.lower()} attack ({attack.id})"
            )
            findings.append(
                RULES.finding(
                    rule_id,
                    f'{self.route.name} answered with {seen.leak.what} to {cause}: "{asked}"{others}',
                    location=self.location(),
                    subject=f"{self.route.name}\x1f{redact.secret_id(subject)}",
                    evidence=redact.scrub(seen.leak.excerpt),
                    details={
                        "family": attack.family,
                        "attack": attack.id,
                        "prompt": redact.scrub(attack.prompt[:PROMPT_SHOWN]),
                        "answer_excerpt": redact.scrub(seen.leak.excerpt),
                        "attacks": seen.count,
                        "model_judged": rule_id == "ai.judged.unsafe",
                    },
                )
            )
        return findings

    def _gap(self, rule_id: str, message: str, subject: str, **details: int) -> Finding:
        location = self.location()
        return RULES.finding(
            rule_id, f"{self.route.name}: {message}", location=location, subject=subject, details=details
        )

    def gap_findings(self, total: int, sent: int) -> list[Finding]:
        """What was not seen: attacks without an answer, answers cut short, attacks never sent."""
        findings = []
        name = self.route.name
        if self.tally.unanswered:
            attack, reason = self.tally.unanswered[0]
            count = len(self.tally.unanswered)
            message = f"{count} of {sent} attacks got no usable answer (first: {attack.id}: {redact.scrub(reason)})."
            findings.append(self._gap("ai.route.unanswered", message, name, unanswered=count, sent=sent))
        if self.tally.cut:
            attack, reason = self.tally.cut[0]
            count = len(self.tally.cut)
            message = f"{count} answers were cut off and only partly judged (first: {attack.id}: {reason})."
            findings.append(self._gap("ai.route.incomplete", message, f"{name}\x1fcut", cut=count))
        if self.tally.unfetched:
            count = len(self.tally.unfetched)
            message = (
                f"{count} of {self.tally.served} pages served for indirect-injection attacks were never fetched "
                f"(first: {self.tally.unfetched[0].id}): the route was handed a URL on {LOOPBACK} of the machine "
                "running the gate and did not read it, so those attacks were not tested."
            )
            findings.append(
                self._gap(
                    "ai.ingest.unfetched", message, f"{name}\x1funfetched", unfetched=count, served=self.tally.served
                )
            )
        if sent < total:
            spent = f"{self.budget.attempts} attempts, {self.budget.seconds:g}s"
            message = f"{total - sent} of {total} attacks were not sent: the route's budget ({spent}) ran out."
            findings.append(self._gap("ai.route.incomplete", message, name, planned=total, sent=sent))
        return findings
