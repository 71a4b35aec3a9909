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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from cslir.channels import HttpRequest, Target, build, judge, redact, secrets_of
from cslir.channels.judging import short_text
from cslir.errors import CslirError
from cslir.notify.plan import message_of
from cslir.notify.routes import Route

if TYPE_CHECKING:
    import requests

Now = Callable[[], datetime]


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
) -> Attempt:
    """Build, send and judge one attempt of a delivery. Never raises for a failed send."""
    from cslir.channels.send import TransportError, send

    try:
        target = route.target(environ)
    except CslirError as e:  # a missing variable: names it, shows no value
        return Attempt(False, False, None, e.message)
    secrets = secrets_of(target)
    try:
        request = build(target, message_of(payload), now=now(), idempotency_key=key)
    except ValueError as e:
        return Attempt(False, False, None, redact(str(e), secrets))
    secrets += request_secrets(request)
    try:
        status, headers, body = send(request, session=session, timeout=target.timeout)
    except TransportError as e:
        return Attempt(False, True, None, redact(e.message, secrets))
    outcome = judge(target, status, headers, body, now=now())
    answer = redact(short_text(body), secrets)
    return Attempt(
        outcome.ok,
        outcome.retryable,
        outcome.retry_after,
        redact(outcome.detail, secrets),
        status,
        answer,
    )


def target_secrets(route: Route, environ: Mapping[str, str]) -> list[str]:
    """The route's secrets if they resolve, for redacting text that did not come from a send."""
    try:
        target: Target = route.target(environ)
    except CslirError:
        return []
    return secrets_of(target)


@dataclass
class Job:
    """One attempt to make; ``result`` is filled in by a sender thread."""

    delivery: dict[str, Any]
    route: Route
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
                    )
                except Exception as e:  # a bug in a builder: fail this delivery, not the thread
                    secrets = target_secrets(job.route, self._environ)
                    job.result = Attempt(
                        False, False, None, redact(f"internal error: {type(e).__name__}", secrets)
                    )
                with self._lock:
                    self._idle += 1
                self._done(job)
