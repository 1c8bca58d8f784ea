"""Orchestra: the pending requests, changed by hook events and answers, and announced to the UI.

The rules of what an event does are server/lifecycle.py (pure); this carries them out. A request is a
models.Record, frozen: every change is a new record, written to the store first; only then does it take
the old one's place in memory and is broadcast, so a write that fails (503) leaves both as they were.
Whoever held the old record looks the request up again by its id. An answer is delivered
(server/delivery.py: through the waiting hook of server/mailbox.py, else as keys into the exact tmux pane)
before it resolves its request.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
from msgspec.structs import replace

from piko import claude, dialogs, tmux
from piko.models import (
    CHANGE_MESSAGES,
    AnsweredBy,
    ChangeKind,
    FleetSession,
    NotifyAnswer,
    Record,
    RespondAnswer,
    answer_response,
    answer_type,
)
from piko.server import delivery, fleet_rules, lifecycle
from piko.server.errors import ApiRefusal
from piko.server.event_keys import EventKeys, take_key
from piko.server.fleet import Fleet
from piko.server.hub import Hub
from piko.server.mailbox import HookOutput, Mailbox
from piko.server.store import Store, StoreError

log = logging.getLogger("piko.orchestra")
# Claude Code tells of a dialog by Notification some seconds after drawing it, even when Piko answered it
# meanwhile: for this long after an answer, such a late Notification asks nothing (lifecycle.apply_event).
LATE_NOTICE_SECONDS = 20.0

Clock = Callable[[], str]
_encoder = msgspec.json.Encoder()


def now() -> str:
    """The time as records carry it: UTC, milliseconds, `Z`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Orchestra:
    def __init__(self, store: Store, hub: Hub, *, panes: delivery.Panes | None = None,
                 clock: Clock = now) -> None:
        self.store = store
        self.hub = hub
        self.clock = clock
        self.panes = panes or delivery.TmuxPanes()
        self.pending: dict[str, Record] = {r.id: r for r in store.pending()}
        # Claude session id -> id of its pending request: found in O(1) on every event.
        self._by_session: dict[str, str] = {r.session_id: r.id for r in self.pending.values() if r.session_id}
        self._pending_json: str | None = None  # the pending requests, encoded (until they change)
        self._snapshot: tuple[str, list[FleetSession]] | None = None  # the text, and the sessions it holds
        self._locks: dict[str, asyncio.Lock] = {}  # one answer at a time per request
        # Every change is computed, written and made under this lock: the write is awaited (on the
        # store's writer thread), and no other change may be computed from the state before it.
        self._changing = asyncio.Lock()
        # Requests whose answer is being delivered: lifecycle resolutions that arrive meanwhile wait
        # here, so the answer (not the event our own keystrokes caused) is what the record keeps.
        self._inflight: dict[str, list[str]] = {}
        self.mailbox = Mailbox()  # PermissionRequest and Elicitation hooks waiting for a decision
        self.courier = delivery.Courier(self.mailbox, self.panes, self.current)
        self._background: set[asyncio.Task[None]] = set()
        self.event_keys = EventKeys(store)
        # Told every announced change (e.g. server/targets.py); each must return at once and never raise.
        self.observers: list[Callable[[ChangeKind, Record], None]] = []
        # A record per Claude session, fed by the events and requests below.
        self.fleet = Fleet(store, hub, self.panes.session_name)
        self._answered: dict[str, tuple[float, Record]] = {}  # session -> (when, dialog answered)

    # ---- reading ---------------------------------------------------------------------------------

    def snapshot_text(self) -> str:
        """The snapshot message, one string shared by every client that connects until the pending requests
        or the sessions change (a snapshot can be megabytes: a copy per client would add up)."""
        sessions = self.fleet.current()  # the same list until the fleet changes
        if self._snapshot is None or self._snapshot[1] is not sessions:
            if self._pending_json is None:
                self._pending_json = _encoder.encode(list(self.pending.values())).decode()
            text = (f'{{"type": "snapshot", "notifications": {self._pending_json}, '
                    f'"sessions": {_encoder.encode(sessions).decode()}}}')
            self._snapshot = (text, sessions)
        return self._snapshot[0]

    def get(self, id: str) -> Record:
        record = self.pending.get(id) or self.store.get(id)
        if record is None:
            raise ApiRefusal(404, "not_found", f"no request with id {id!r}")
        return record

    def pending_for_session(self, session_id: str) -> Record | None:
        id = self._by_session.get(session_id)
        return self.pending.get(id) if id else None

    def current(self, id: str) -> Record:
        """The request `id` as it is now; ApiRefusal(409) once it is no longer pending."""
        record = self.pending.get(id)
        if record is None:
            closed = self.get(id)
            raise ApiRefusal(409, "already_resolved",
                             f"request {id} was already {closed.status} ({closed.resolved_via}); nothing was typed",
                             notification=closed)
        return record

    # ---- changes ---------------------------------------------------------------------------------

    def _announce(self, kind: ChangeKind, record: Record) -> None:
        self._pending_json = self._snapshot = None
        self.hub.broadcast(CHANGE_MESSAGES[kind](notification=record))
        self.fleet.request(kind, record, self.clock())
        for observe in self.observers:
            observe(kind, record)

    async def _write(self, inserts: list[Record], updates: list[Record]) -> None:
        try:
            await self.store.write_many(inserts, updates)
        except StoreError as e:
            log.error("store write failed: %s", e)
            raise ApiRefusal(503, "store_failed",
                           f"the change could not be saved ({e}); nothing was changed, try again") from None

    async def _save(self, record: Record) -> Record:
        """Write `record`, a pending request's next version, then hold it in memory (the caller announces it)."""
        await self._write([], [record])
        self.pending[record.id] = record
        return record

    async def _close(self, record: Record, status: Literal["resolved", "dismissed"], via: str,
                     response: str | dict[str, Any] | None = None,
                     response_type: lifecycle.ResponseType | None = None, *, inserts: tuple[Record, ...] = (),
                     answered_by: AnsweredBy | None = None) -> Record:
        """Close `record`, resolved/dismissed: written (with `inserts`, in the same transaction), then
        gone from memory. The caller announces the closed record this returns."""
        closed = lifecycle.closing(record, status, via, self.clock(), response, response_type, answered_by)
        await self._write(list(inserts), [closed])
        self.pending.pop(record.id, None)
        self._locks.pop(record.id, None)  # anyone still waiting on it holds it, and will see this
        if record.session_id and self._by_session.get(record.session_id) == record.id:
            del self._by_session[record.session_id]
        self.mailbox.release(record.id)  # resolved some other way: the hook exits silently
        return closed

    async def resolve(self, id: str, via: str) -> Record | None:
        """Resolve a pending request because its session moved on (the watcher saw it); deferred while an
        answer is in flight. None when deferred, or no longer pending."""
        async with self._changing:
            record = self.pending.get(id)
            if record is None:
                return None
            return await self._resolve(record, via)

    async def _resolve(self, record: Record, via: str) -> Record | None:
        deferred = self._inflight.get(record.id)
        if deferred is not None:
            deferred.append(via)
            return None
        closed = await self._close(record, "resolved", via)
        self._announce("resolved", closed)
        return closed

    async def ingest(self, body: Any) -> NotifyAnswer:
        """Apply one hook event; returns the notify answer."""
        async with self._changing:
            return await self._ingest(body)

    async def _ingest(self, body: Any) -> NotifyAnswer:
        try:
            event, extra = claude.normalize_event(body)
        except claude.PayloadError as e:
            raise ApiRefusal(400, "bad_request", str(e)) from None
        if event.tmux_socket:
            try:
                tmux.check_socket(event.tmux_socket)
            except tmux.UnsafeSocket as e:
                raise ApiRefusal(400, "bad_request", f"tmux_socket refused: {e}") from None
            except tmux.PaneGone:
                pass  # its tmux server is gone (a spooled event): the request is kept, answering it says so
        session = event.session_id
        current = self.pending_for_session(session) if session else None
        change = lifecycle.apply_event(event, extra, current, new_id=secrets.token_hex(6), stamp=self.clock(),
                                       answered=self._recently_answered(session))
        self.fleet.event(event, extra, fleet_rules.pending_after(change, current), self.clock())
        if isinstance(change, lifecycle.Enrich):
            record = await self._save(lifecycle.updating(change.enriched, self.clock()))
            self._announce("updated", record)
            return NotifyAnswer(id=record.id, action="updated", notification=record)
        if isinstance(change, lifecycle.Create):
            return await self._create(change)
        if isinstance(change, lifecycle.Resolve):
            resolved = await self._resolve(change.record, change.via)
            return NotifyAnswer(id=change.record.id, action="resolved" if resolved else "deferred",
                                notification=resolved)
        return NotifyAnswer(id=None, action="ignored", notification=None)

    async def ingest_once(self, body: Any) -> NotifyAnswer:
        """`ingest`, once per idempotency key (a hook may post an event, time out, and spool it too)."""
        try:
            key = take_key(body)
        except ValueError as e:
            raise ApiRefusal(400, "bad_request", str(e)) from None
        async with self._changing:
            if key is not None and self.event_keys.seen(key):
                return NotifyAnswer(id=None, action="duplicate", notification=None)
            answer = await self._ingest(body)
            if key is not None:
                self.event_keys.taking(key)  # seen from now on, while it is written (outside the lock)
        if key is not None:
            await self.event_keys.remember(key)  # written before the hook hears the event was taken
        return answer

    def _recently_answered(self, session: str | None) -> Record | None:
        """The dialog of `session` answered from Piko less than LATE_NOTICE_SECONDS ago, if any."""
        when, record = self._answered.get(session or "", (0.0, None))
        if record is None or asyncio.get_running_loop().time() - when > LATE_NOTICE_SECONDS:
            self._answered.pop(session or "", None)
            return None
        return record

    async def _create(self, change: lifecycle.Create) -> NotifyAnswer:
        record, replacing = change.record, change.replaces
        if record.kind == "permission" and record.tool_name:
            if dialogs.reads_disk(record.tool_name):
                detail = await asyncio.to_thread(dialogs.detail_of, record)  # reads the edited file or the plan
            else:
                detail = dialogs.detail_of(record)  # reads nothing: no thread hop on the way to the inbox
            record = replace(record, detail=detail)
        replaced = None
        if replacing is not None and replacing.id not in self._inflight:
            replaced = await self._close(replacing, "resolved", change.via, inserts=(record,))
        else:
            await self._write([record], [])
            if replacing is not None:
                self._inflight[replacing.id].append(change.via)
        self.pending[record.id] = record
        if record.session_id:
            self._by_session[record.session_id] = record.id
        if replaced:
            self._announce("resolved", replaced)
        self._announce("created", record)
        if record.tmux_target and not record.tmux_session:
            self._spawn(self._name_session(record))
        return NotifyAnswer(id=record.id, action="created", notification=record)

    async def _name_session(self, record: Record) -> None:
        """Fill in the tmux session's name (and the env name, when none was given) from the pane, so
        the hook need not spend its time asking tmux."""
        assert record.tmux_target is not None
        try:
            name = await self.panes.session_name(record.tmux_socket, record.tmux_target)
        except tmux.TmuxError:
            return
        async with self._changing:
            current = self.pending.get(record.id)
            named = lifecycle.session_named(current, name) if current is not None else None
            if named is None:
                return
            try:
                named = await self._save(lifecycle.updating(named, self.clock()))
            except ApiRefusal:
                return  # logged; the request keeps working without its session's name
            self._announce("updated", named)

    async def dismiss(self, id: str) -> Record:
        self.get(id)
        async with self._changing:
            record = self.current(id)
            if id in self._inflight:
                raise ApiRefusal(409, "already_resolved", f"request {id} is being answered right now",
                                 notification=record)
            closed = await self._close(record, "dismissed", "dismiss")
            self._announce("dismissed", closed)
            return closed

    def shutdown(self) -> None:
        """Release every waiting hook at once: the server is going away (the hook retries)."""
        self.mailbox.close()

    async def attach_hook(self, id: str) -> asyncio.Future[HookOutput | None]:
        """A PermissionRequest (or Elicitation) hook starts waiting for the decision on request `id`."""
        future = self.mailbox.attach(id)
        await self.set_hook_waiting(id, True)
        return future

    def detach_hook(self, id: str, future: asyncio.Future[HookOutput | None]) -> None:
        """The hook's connection ended (answered, timed out, killed, or the server is stopping); the record
        says so once the store has it."""
        if self.mailbox.detach(id, future):
            self._spawn(self.set_hook_waiting(id, False))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def hook_acknowledged(self, id: str) -> None:
        """The decision for `id` was written to its hook's connection."""
        self.mailbox.acknowledged(id)

    async def set_hook_waiting(self, id: str, waiting: bool) -> None:
        async with self._changing:
            record = self.pending.get(id)
            if record is None or record.hook_waiting == waiting:
                return
            try:
                record = await self._save(lifecycle.updating(record, self.clock(), hook_waiting=waiting))
            except ApiRefusal:
                return  # logged; hook_waiting is only shown, the hook keeps waiting either way
            self._announce("updated", record)

    # ---- answers ---------------------------------------------------------------------------------

    async def respond(self, body: Any, answered_by: AnsweredBy | None = None) -> RespondAnswer:
        if not isinstance(body, dict):
            raise ApiRefusal(400, "bad_request", "the body must be a JSON object")
        id = body.get("notification_id")
        if not isinstance(id, str) or not id:
            raise ApiRefusal(400, "bad_request", "notification_id (a string) is required")
        plan = delivery.plan(self.get(id), body)
        self.current(id)
        # One answer at a time per request; whoever waited finds it resolved and gets 409.
        async with self._locks.setdefault(id, asyncio.Lock()):
            self.current(id)
            # An answer given before the dialog is drawn or its hook listens waits for them (not in
            # flight: the session may still move on meanwhile, and then nothing is typed).
            await self.courier.hold(id, plan)
            async with self._changing:  # no change of this request is half-written now
                record = self.current(id)
                self._inflight[id] = []
            try:
                via = await self.courier.deliver(record, plan, self._mark_typing)
            except BaseException:
                async with self._changing:
                    await self._unmark_typing(id)
                    deferred = self._inflight.pop(id, [])
                    if deferred and id in self.pending:
                        await self._resolve(self.pending[id], deferred[0])
                raise
            async with self._changing:
                self._inflight.pop(id, None)
                record = replace(self.pending[id], typing_since=msgspec.UNSET)
                try:
                    closed = await self._close(record, "resolved", via, answer_response(plan), answer_type(plan),
                                               answered_by=answered_by)
                except ApiRefusal as e:  # delivered, but not recorded: say so, lest it be answered again
                    raise ApiRefusal(e.status, e.code, f"the answer was delivered ({via}) but could not be "
                                     f"recorded ({e.message}); do not answer it again: dismiss it once the "
                                     "store works") from None
                self._announce("resolved", closed)
                if closed.session_id and closed.kind in delivery.DIALOG_KINDS:
                    self._answered[closed.session_id] = (asyncio.get_running_loop().time(), closed)
            return RespondAnswer(ok=True, delivered_via=via, notification=closed)

    async def _mark_typing(self, id: str) -> None:
        """Keys are about to be typed for request `id`: the store says so first, so a server killed while
        typing never types the answer a second time after its restart (see Courier.deliver)."""
        async with self._changing:
            marked = replace(self.pending[id], typing_since=self.clock())
            await self._write([], [marked])
            self.pending[id] = marked

    async def _unmark_typing(self, id: str) -> None:
        record = self.pending.get(id)
        if record is not None and record.typing_since is not msgspec.UNSET:
            self.pending[id] = record = replace(record, typing_since=msgspec.UNSET)
            try:
                await self._write([], [record])
            except ApiRefusal:
                pass  # logged; the record says typing_since until the next write, which is safe
