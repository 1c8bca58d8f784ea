"""When a message goes to a notify target, what it says, and when a failed one is tried again (the rules;
server/targets.py carries them out). Pure: the time is given, in seconds of a monotonic clock.

- A new request is due at a target `delay` seconds after it arrived; one answered before then is never sent.
- A target gets at most one message per `rate` seconds. A message goes `gather` seconds after the first of
  its requests fell due, so a burst of requests makes one summary ("3 agents need you: ...").
- A message that failed is tried again after `backoff`, twice that, ... (`tries` in all), then dropped;
  a request answered meanwhile leaves it. A target sends nothing new while a message of its waits to be
  tried again.
- A target given content (`--content`) is told the tool and the command; others only where Claude needs
  the person (project/env), since the message passes through third parties.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from piko.models import Record

RATE_SECONDS = 10.0
GATHER_SECONDS = 1.0
BACKOFF_SECONDS = 2.0
TRIES = 4
SUMMARY_CHARS = 160  # of one request's command, in a message with content
LISTED = 8  # requests named in a summary; the rest are counted


@dataclass(frozen=True)
class Ask:
    """A new request, as a message tells it."""

    id: str
    place: str  # "project/env", or "" when unknown
    tool: str  # the tool, else the kind of request
    summary: str  # the command, file or question (content)


def ask_of(record: Record) -> Ask:
    place = "/".join(part for part in (record.project_name, record.env_name) if part)
    return Ask(id=record.id, place=place, tool=record.tool_name or record.kind, summary=record.summary)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _named(ask: Ask, content: bool) -> str:
    where = ask.place or "an agent"
    if not content:
        return where
    what = f"{ask.tool}: {_shorten(ask.summary, SUMMARY_CHARS)}" if ask.summary else ask.tool
    return f"{where} ({what})" if what else where


def compose(asks: list[Ask], content: bool) -> tuple[str, str]:
    """The title and body of one message about `asks` (at least one)."""
    if len(asks) == 1:
        ask = asks[0]
        body = f"Claude needs you in {ask.place}" if ask.place else "Claude needs you"
        if content:
            what = f"{ask.tool}: {_shorten(ask.summary, SUMMARY_CHARS)}" if ask.summary else ask.tool
            body += f": {what}" if what else ""
        return "Claude needs you", body
    title = f"{len(asks)} agents need you"
    names = [_named(ask, content) for ask in asks[:LISTED]]
    more = f", and {len(asks) - LISTED} more" if len(asks) > LISTED else ""
    return title, f"{title}: {', '.join(names)}{more}"


@dataclass(frozen=True)
class Batch:
    """One message to one target, about these requests; `attempt` 1 is its first try."""

    target: str
    asks: tuple[Ask, ...]
    attempt: int = 1


@dataclass
class _Queue:
    delay: float
    waiting: dict[str, tuple[float, Ask]] = field(default_factory=dict)  # request id -> (due, ask)
    last_sent: float | None = None
    out: Batch | None = None  # being sent now
    retry: tuple[float, Batch] | None = None  # failed, tried again at that time


class Schedule:
    def __init__(self, *, rate: float = RATE_SECONDS, gather: float = GATHER_SECONDS,
                 backoff: float = BACKOFF_SECONDS, tries: int = TRIES) -> None:
        self.rate, self.gather, self.backoff, self.tries = rate, gather, backoff, tries
        self._queues: dict[str, _Queue] = {}

    def add_target(self, id: str, delay: float) -> None:
        self._queues.setdefault(id, _Queue(delay))

    def remove_target(self, id: str) -> None:
        self._queues.pop(id, None)

    def created(self, ask: Ask, now: float) -> None:
        for queue in self._queues.values():
            queue.waiting[ask.id] = (now + queue.delay, ask)

    def resolved(self, id: str) -> None:
        """The request was answered (or dismissed): no message about it is sent from now on."""
        for queue in self._queues.values():
            queue.waiting.pop(id, None)
            if queue.retry is not None:
                when, batch = queue.retry
                asks = tuple(a for a in batch.asks if a.id != id)
                queue.retry = (when, replace(batch, asks=asks)) if asks else None

    def take(self, now: float) -> list[Batch]:
        """The messages to send now; each is `sent` or `failed` later."""
        batches = []
        for id, queue in self._queues.items():
            if queue.out is not None:
                continue
            if queue.retry is not None:
                when, batch = queue.retry
                if when <= now:
                    queue.retry, queue.out = None, batch
                    batches.append(batch)
                continue
            start = self._start(queue)
            if start is None or start > now:
                continue
            due = [ask for when, ask in queue.waiting.values() if when <= now]
            for ask in due:
                del queue.waiting[ask.id]
            queue.out = Batch(id, tuple(due))
            queue.last_sent = now
            batches.append(queue.out)
        return batches

    def _start(self, queue: _Queue) -> float | None:
        """When the queue's next message may go (it has nothing due: None)."""
        if not queue.waiting:
            return None
        start = min(when for when, _ in queue.waiting.values()) + self.gather
        return start if queue.last_sent is None else max(start, queue.last_sent + self.rate)

    def sent(self, batch: Batch) -> None:
        queue = self._queues.get(batch.target)
        if queue is not None and queue.out is batch:
            queue.out = None

    def failed(self, batch: Batch, now: float) -> float | None:
        """The message could not be sent: when it is tried again, or None when it is dropped."""
        self.sent(batch)
        queue = self._queues.get(batch.target)
        if queue is None or batch.attempt >= self.tries:
            return None
        when = now + self.backoff * 2.0 ** (batch.attempt - 1)
        queue.retry = (when, replace(batch, attempt=batch.attempt + 1))
        return when

    def next_time(self) -> float | None:
        """When `take` next has something (None: not until a request arrives or a message ends)."""
        times: list[float] = []
        for queue in self._queues.values():
            if queue.out is not None:
                continue
            when = queue.retry[0] if queue.retry is not None else self._start(queue)
            if when is not None:
                times.append(when)
        return min(times, default=None)
