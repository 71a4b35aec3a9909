"""One try at a delivery (build, send, judge, redact) and the threads that make them.

Each attempt builds its request afresh, so it is re-signed with a fresh timestamp while the
idempotency key stays the delivery's own. Whatever comes back is redacted here, at the
boundary, with every secret of the route and of the request just built (a DingTalk ``sign``,
a Standard Webhooks signature): an answer that echoes a token records ``[redacted]``.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from cslir.base.errors import CslirError
from cslir.base.redaction import REDACTED, redact
from cslir.notify.channels import HttpRequest, Target, build, judge, secrets_of
from cslir.notify.channels.judging import short_text
from cslir.notify.plan import message_of
from cslir.notify.routes import Route

if TYPE_CHECKING:
    import requests

Now = Callable[[], datetime]
MIN_PARTIAL = 4  # the shortest start of a secret worth hiding at the end of a clipped text


@dataclass(frozen=True)
class Attempt:
    """What one attempt came to. ``detail`` and ``answer`` are already redacted."""

    ok: bool
    retryable: bool
    retry_after: float | None
    detail: str
    status: int | None = None  # the HTTP status, or None when no answer came
    answer: str = ""  # the answer body as text


def request_secrets(request: HttpRequest) -> list[str]:
    """Per-request secrets: the signed URL and its ``sign``, signatures in headers and body."""
    found = [request.url]
    found += [v for k, v in parse_qsl(urlsplit(request.url).query) if k == "sign"]
    signature = request.headers.get("webhook-signature", "")
    found += [signature, *(part.partition(",")[2] for part in signature.split())]
    try:
        body = json.loads(request.body)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("sign"), str):
        found.append(body["sign"])  # Feishu signs in the body
    return [s for s in found if s]


def attempt(
    route: Route,
    payload: Mapping[str, Any],
    key: str,
    *,
    environ: Mapping[str, str],
    session: requests.Session,
    now: Now,
    also_secret: Sequence[str] = (),
) -> Attempt:
    """Build, send and judge one attempt of a delivery. Never raises for a failed send.

    ``also_secret``: more values to redact, such as every other route's secrets.
    """
    from cslir.notify.channels.send import TransportError, send

    try:
        target = route.target(environ)
    except CslirError as e:  # a missing variable: names it, shows no value
        return Attempt(False, False, None, e.message)
    secrets = [*secrets_of(target), *also_secret]
    try:
        request = build(target, message_of(payload), now=now(), idempotency_key=key)
    except ValueError as e:
        return Attempt(False, False, None, redact_clipped(str(e), secrets))
    secrets += request_secrets(request)
    try:
        status, headers, body = send(request, session=session, timeout=target.timeout)
    except TransportError as e:
        # notifiers.md §11: an answer lost after the request went out is ambiguous. The retry
        # goes ahead (a duplicate page beats a missing one, and the footer's run id lets people
        # spot it), and the record says the message may already be there.
        reason = f"{e.message}; it may have arrived" if e.maybe_delivered else e.message
        return Attempt(False, True, None, redact_clipped(reason, secrets))
    # Redact the answer before it is judged: a judge clips its detail, and a clipped secret
    # would no longer match.
    body = redact(body.decode("utf-8", errors="replace"), secrets).encode("utf-8")
    outcome = judge(target, status, headers, body, now=now())
    return Attempt(
        outcome.ok,
        outcome.retryable,
        outcome.retry_after,
        redact_clipped(outcome.detail, secrets),
        status,
        redact_clipped(short_text(body), secrets),
    )


def redact_clipped(text: str, secrets: Sequence[str]) -> str:
    """``redact``, and a text clipped with "…" loses any start of a secret it ends with."""
    text = redact(text, secrets)
    if not text.endswith("…"):
        return text
    head = text[:-1]
    for secret in secrets:
        for size in range(min(len(secret), len(head)), MIN_PARTIAL - 1, -1):
            if head.endswith(secret[:size]):
                return head[:-size] + REDACTED + "…"
    return text


def target_secrets(route: Route, environ: Mapping[str, str]) -> list[str]:
    """The route's secrets if they resolve, for redacting text that did not come from a send."""
    try:
        target: Target = route.target(environ)
    except CslirError:
        return []
    return secrets_of(target)


def all_secrets(routes: Iterable[Route], environ: Mapping[str, str]) -> list[str]:
    """Every secret of every route: an answer is redacted of all of them, not just its own."""
    return [s for route in routes for s in target_secrets(route, environ)]


@dataclass
class Job:
    """One attempt to make; ``result`` is filled in by a sender thread."""

    delivery: dict[str, Any]
    route: Route
    also_secret: Sequence[str] = ()
    result: Attempt | None = None
    started: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Senders:
    """A few daemon threads making attempts concurrently, each with its own requests.Session.

    Daemon threads, so that an endpoint that hangs never holds up the end of the process (a
    ThreadPoolExecutor's threads are joined at exit). Threads start as work arrives, up to
    ``size``; finished jobs are handed to ``done``.
    """

    def __init__(
        self,
        size: int,
        done: Callable[[Job], None],
        *,
        environ: Mapping[str, str],
        now: Now,
    ) -> None:
        self.size = size
        self._done = done
        self._environ = environ
        self._now = now
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._idle = 0

    def submit(self, job: Job) -> None:
        with self._lock:
            # _idle counts idle threads minus queued jobs; start a thread when none is free
            if self._idle <= 0 and len(self._threads) < self.size:
                thread = threading.Thread(target=self._work, name="cslir-sender", daemon=True)
                self._threads.append(thread)
                thread.start()
            else:
                self._idle -= 1
        self._jobs.put(job)

    def close(self) -> None:
        """Let each thread finish its current attempt and stop; does not wait for them."""
        with self._lock:
            for _ in self._threads:
                self._jobs.put(None)

    def _work(self) -> None:
        import requests

        with requests.Session() as session:
            while True:
                job = self._jobs.get()
                if job is None:
                    return
                job.started = self._now()
                try:
                    job.result = attempt(
                        job.route,
                        job.delivery["payload"],
                        job.delivery["idempotency_key"],
                        environ=self._environ,
                        session=session,
                        now=self._now,
                        also_secret=job.also_secret,
                    )
                except Exception as e:  # a bug in a builder: fail this delivery, not the thread
                    secrets = target_secrets(job.route, self._environ)
                    job.result = Attempt(
                        False, False, None, redact(f"internal error: {type(e).__name__}", secrets)
                    )
                with self._lock:
                    self._idle += 1
                self._done(job)
