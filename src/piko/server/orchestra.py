"""Orchestra: the lifecycle of requests, and carrying answers back to the agent that asked.

One pending request per Claude session. A hook event creates, enriches, replaces or resolves it (rules in
docs/api.md); an answer resolves it after it was delivered, by a waiting hook (a structured decision) or
by keystrokes into the exact tmux pane. Every change is computed on a copy and written to the store first;
only then is it made in memory and broadcast, so a write that fails (503) leaves both as they were.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from datetime import datetime, timezone
from typing import Any

from piko import claude, tmux
from piko.server.event_keys import EventKeys, take_key
from piko.server.hub import Hub
from piko.server.store import Store, StoreError

log = logging.getLogger("piko.orchestra")

DECISIONS = ("allow", "always", "deny")
MAX_RESPONSE_CHARS = 100_000
DENY_MESSAGE_PAUSE = 0.4  # after pressing No, before typing the message for Claude
HOOK_ACK_TIMEOUT = 2.0  # how long a decision handed to a hook may take to leave the server
KEY_CHECK_TIMEOUT = 1.5  # how long a pressed key may take to close the dialog on screen


class ApiError(Exception):
    """An answer the API gives instead of doing what was asked: HTTP status, machine code, sentence."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def pane_of(record: dict[str, Any]) -> str | None:
    """The tmux target of a request: its pane, else its session's active pane (exact name), else None."""
    if record.get("tmux_target"):
        return record["tmux_target"]
    if record.get("tmux_session"):
        return f"={record['tmux_session']}:"
    return None


async def dialog_options(socket: str | None, target: str) -> list[tuple[str, str]]:
    """The options of the Claude Code dialog the pane shows now; [] when none. Raises tmux errors."""
    return claude.screen_options(await tmux.capture(socket, target, join=True))


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Orchestra:
    def __init__(self, store: Store, hub: Hub) -> None:
        self.store = store
        self.hub = hub
        self.pending: dict[str, dict[str, Any]] = {r["id"]: r for r in store.pending()}
        # Claude session id -> id of its pending request: found in O(1) on every event.
        self._by_session: dict[str, str] = {
            r["session_id"]: r["id"] for r in self.pending.values() if r.get("session_id")}
        self._snapshot: str | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        # Requests whose answer is being delivered: lifecycle resolutions that arrive meanwhile wait
        # here, so the answer (not the event our own keystrokes caused) is what the record keeps.
        self._inflight: dict[str, list[str]] = {}
        # Hooks waiting for a decision (PermissionRequest): request id -> future of the hook's output.
        self.hook_waiters: dict[str, asyncio.Future[dict | None]] = {}
        self._hook_acks: dict[str, asyncio.Future[None]] = {}
        self._background: set[asyncio.Task] = set()
        self.event_keys = EventKeys(store.db)

    # ---- reading ---------------------------------------------------------------------------------

    def snapshot_text(self) -> str:
        if self._snapshot is None:
            self._snapshot = json.dumps(
                {"type": "snapshot", "notifications": list(self.pending.values())}, ensure_ascii=False
            )
        return self._snapshot

    def get(self, id: str) -> dict[str, Any]:
        record = self.pending.get(id) or self.store.get(id)
        if record is None:
            raise ApiError(404, "not_found", f"no request with id {id!r}")
        return record

    def pending_for_session(self, session_id: str) -> dict[str, Any] | None:
        id = self._by_session.get(session_id)
        return self.pending.get(id) if id else None

    # ---- changes ---------------------------------------------------------------------------------

    def _announce(self, kind: str, record: dict[str, Any]) -> None:
        self._snapshot = None
        self.hub.broadcast({"type": kind, "notification": record})

    def _write(self, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]) -> None:
        try:
            self.store.write_many(inserts, updates)
        except StoreError as e:
            log.error("store write failed: %s", e)
            raise ApiError(503, "store_failed",
                           f"the change could not be saved ({e}); nothing was changed, try again") from None

    def _save(self, record: dict[str, Any], **changes: Any) -> dict[str, Any]:
        """Write `record` with `changes`, then make them in memory (the caller announces it)."""
        changes["updated_at"] = now()
        self._write([], [{**record, **changes}])
        record.update(changes)
        return record

    def _close(self, record: dict[str, Any], status: str, via: str, response: Any = None,
               response_type: str | None = None, *, inserts: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
        """Mark `record` resolved/dismissed: written (with `inserts`, in the same transaction), then in
        memory. The caller announces it."""
        stamp = now()
        changes: dict[str, Any] = dict(status=status, resolved_via=via, resolved_at=stamp, updated_at=stamp,
                                       hook_waiting=False)
        if response is not None:
            changes.update(response=response, response_type=response_type)
        self._write(list(inserts), [{**record, **changes}])
        record.update(changes)
        self.pending.pop(record["id"], None)
        self._locks.pop(record["id"], None)  # anyone still waiting on it holds it, and will see this
        if record.get("session_id") and self._by_session.get(record["session_id"]) == record["id"]:
            del self._by_session[record["session_id"]]
        waiter = self.hook_waiters.pop(record["id"], None)
        if waiter and not waiter.done():
            waiter.set_result(None)  # resolved some other way: the hook exits silently
        return record

    def resolve(self, record: dict[str, Any], via: str) -> dict[str, Any] | None:
        """Resolve a pending request because its session moved on; deferred while an answer is in flight."""
        deferred = self._inflight.get(record["id"])
        if deferred is not None:
            deferred.append(via)
            return None
        self._close(record, "resolved", via)
        self._announce("resolved", record)
        return record

    def ingest(self, body: Any) -> dict[str, Any]:
        """Apply one hook event; returns the notify answer."""
        try:
            fields, extra = claude.normalize_event(body)
        except claude.PayloadError as e:
            raise ApiError(400, "bad_request", str(e)) from None
        if fields["tmux_socket"]:
            try:
                tmux.check_socket(fields["tmux_socket"])
            except tmux.UnsafeSocket as e:
                raise ApiError(400, "bad_request", f"tmux_socket refused: {e}") from None
            except tmux.PaneGone:
                pass  # its tmux server is gone (a spooled event): the request is kept, answering it says so
        event = fields["hook_event_name"]
        session = fields["session_id"]
        kind = claude.kind_of(fields)
        current = self.pending_for_session(session) if session else None

        if current is not None and event == "Notification" and (
                (kind == "permission" and current["kind"] in ("permission", "question"))
                or (kind == "idle" and current["kind"] == "idle")):
            return self._enrich(current, fields, extra)  # the same dialog or idle prompt, told twice
        if kind is not None:
            return self._create(kind, fields, extra, replacing=current)
        if event == "Stop" and session:
            # Claude finished its turn and waits for the next instruction: that is an idle prompt now,
            # not in the 60 s Claude Code takes to send its idle_prompt Notification.
            fields["message"] = claude.stop_message(extra)
            return self._create("idle", fields, extra, replacing=current, replaced_via="event:Stop")
        if event in claude.RESOLVING_EVENTS and current is not None and self._moves_on(current, fields):
            resolved = self.resolve(current, f"event:{event}")
            return {"id": current["id"], "action": "resolved" if resolved else "deferred",
                    "notification": resolved}
        return {"id": None, "action": "ignored", "notification": None}

    def ingest_once(self, body: Any) -> dict[str, Any]:
        """`ingest`, once per idempotency key (a hook may post an event, time out, and spool it too)."""
        try:
            key = take_key(body)
        except ValueError as e:
            raise ApiError(400, "bad_request", str(e)) from None
        if key is not None and self.event_keys.seen(key):
            return {"id": None, "action": "duplicate", "notification": None}
        answer = self.ingest(body)
        if key is not None:
            self.event_keys.remember(key)
        return answer

    @staticmethod
    def _moves_on(current: dict[str, Any], fields: dict[str, Any]) -> bool:
        """Does this resolving event answer `current`? A tool that ran answers only its own permission,
        not the prompt of another tool called in parallel."""
        if fields["hook_event_name"] not in ("PostToolUse", "PostToolUseFailure"):
            return True
        if current["kind"] not in ("permission", "question"):
            return True
        if current.get("tool_name") and fields["tool_name"] != current["tool_name"]:
            return False
        if current.get("tool_input") and fields["tool_input"]:
            wanted, ran = current["tool_input"], fields["tool_input"]
            # AskUserQuestion's PostToolUse adds "answers" to the input it was asked with.
            return all(ran.get(k) == v for k, v in wanted.items())
        return True

    def _create(self, kind: str, fields: dict[str, Any], extra: dict[str, Any],
                replacing: dict[str, Any] | None, replaced_via: str = "replaced") -> dict[str, Any]:
        stamp = now()
        record: dict[str, Any] = {
            "id": secrets.token_hex(6),
            "status": "pending",
            "kind": kind,
            **fields,
            "extra": extra,
            "options": claude.options_for(kind, fields["tool_input"], fields["permission_suggestions"]),
            "hook_waiting": False,
            "created_at": stamp,
            "updated_at": stamp,
            "resolved_at": None,
            "response": None,
            "response_type": None,
            "resolved_via": None,
        }
        replaced = None
        if replacing is not None and replacing["id"] not in self._inflight:
            replaced = self._close(replacing, "resolved", replaced_via, inserts=(record,))
        else:
            self._write([record], [])
            if replacing is not None:
                self._inflight[replacing["id"]].append(replaced_via)
        self.pending[record["id"]] = record
        if record["session_id"]:
            self._by_session[record["session_id"]] = record["id"]
        if replaced:
            self._announce("resolved", replaced)
        self._announce("created", record)
        if record["tmux_target"] and not record["tmux_session"]:
            task = asyncio.get_running_loop().create_task(self._name_session(record))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return {"id": record["id"], "action": "created", "notification": record}

    async def _name_session(self, record: dict[str, Any]) -> None:
        """Fill in the tmux session's name (and the env name, when none was given) from the pane, so
        the hook need not spend its time asking tmux."""
        try:
            out = await tmux.run(record.get("tmux_socket"), "display-message", "-p", "-t",
                                 record["tmux_target"], "#{session_name}")
        except tmux.TmuxError:
            return
        name = claude.repair(out.strip())
        if not name or record["status"] != "pending" or record.get("tmux_session"):
            return
        named = {"tmux_session": name, "env_name": record.get("env_name") or name,
                 "project_name": record.get("project_name"), "names_given": record.get("names_given")}
        claude.apply_piko_names(named)
        named.pop("names_given")
        try:
            self._save(record, **named)
        except ApiError:
            return  # logged; the request keeps working without its session's name
        self._announce("updated", record)

    def _enrich(self, current: dict[str, Any], fields: dict[str, Any], extra: dict[str, Any]) -> dict:
        """The Notification for a dialog already known from its PermissionRequest: one request, enriched."""
        changes: dict[str, Any] = {name: value for name, value in fields.items()  # fills in, never overwrites
                                   if value is not None and current.get(name) is None}
        if fields["notification_type"]:
            changes["notification_type"] = fields["notification_type"]
        changes["extra"] = {**extra, **(current.get("extra") or {})}
        self._save(current, **changes)
        self._announce("updated", current)
        return {"id": current["id"], "action": "updated", "notification": current}

    def dismiss(self, id: str) -> dict[str, Any]:
        record = self.get(id)
        self._check_pending(record)
        if id in self._inflight:
            raise ApiError(409, "already_resolved", f"request {id} is being answered right now",
                           notification=record)
        self._close(record, "dismissed", "dismiss")
        self._announce("dismissed", record)
        return record

    def shutdown(self) -> None:
        """Release every waiting hook at once: the server is going away (the hook retries)."""
        for waiter in list(self.hook_waiters.values()):
            if not waiter.done():
                waiter.cancel()

    def attach_hook(self, record: dict[str, Any]) -> asyncio.Future[dict | None]:
        """A PermissionRequest hook starts waiting for the decision on `record`."""
        old = self.hook_waiters.get(record["id"])
        if old is not None and not old.done():
            old.cancel()  # the same hook reconnected; its old connection is dead
        future: asyncio.Future[dict | None] = asyncio.get_running_loop().create_future()
        self.hook_waiters[record["id"]] = future
        self.set_hook_waiting(record, True)
        return future

    def detach_hook(self, record: dict[str, Any], future: asyncio.Future) -> None:
        """The hook's connection ended (answered, timed out, killed, or the server is stopping)."""
        if not future.done():
            future.cancel()
        if self.hook_waiters.get(record["id"]) is future:
            del self.hook_waiters[record["id"]]
            self.set_hook_waiting(record, False)

    def hook_acknowledged(self, id: str) -> None:
        """The decision for `id` was written to its hook's connection."""
        ack = self._hook_acks.get(id)
        if ack is not None and not ack.done():
            ack.set_result(None)

    def set_hook_waiting(self, record: dict[str, Any], waiting: bool) -> None:
        if record.get("hook_waiting") == waiting or record["status"] != "pending":
            return
        try:
            self._save(record, hook_waiting=waiting)
        except ApiError:
            return  # logged; hook_waiting is only shown, the hook keeps waiting either way
        self._announce("updated", record)

    # ---- answers ---------------------------------------------------------------------------------

    async def respond(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(400, "bad_request", "the body must be a JSON object")
        id = body.get("notification_id")
        if not isinstance(id, str) or not id:
            raise ApiError(400, "bad_request", "notification_id (a string) is required")
        record = self.get(id)
        plan = self._plan(record, body)
        self._check_pending(record)
        # One answer at a time per request; whoever waited finds it resolved and gets 409.
        async with self._locks.setdefault(id, asyncio.Lock()):
            self._check_pending(record)
            self._inflight[id] = []
            try:
                via = await self._deliver(record, plan)
            except BaseException:
                deferred = self._inflight.pop(id, [])
                if deferred:
                    self.resolve(record, deferred[0])
                raise
            self._inflight.pop(id, None)
            self._close(record, "resolved", via, plan["response"], plan["type"])
            self._announce("resolved", record)
            return {"ok": True, "delivered_via": via, "notification": record}

    def _check_pending(self, record: dict[str, Any]) -> None:
        if record["status"] != "pending" or record["id"] not in self.pending:
            raise ApiError(409, "already_resolved",
                           f"request {record['id']} was already {record['status']} ({record.get('resolved_via')});"
                           " nothing was typed", notification=record)

    def _plan(self, record: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """Check an answer before anything is typed; returns what to deliver."""
        given = [k for k in ("response", "decision", "answers") if body.get(k) is not None]
        if len(given) != 1:
            raise ApiError(400, "bad_request", "give exactly one of response, decision or answers")
        if "decision" in given:
            decision = body["decision"]
            if decision not in DECISIONS:
                raise ApiError(400, "bad_request", "decision must be one of allow, always, deny")
            if record["kind"] != "permission":
                raise ApiError(400, "bad_request", f"a {record['kind']} request takes no decision")
            message = body.get("message")
            if message is not None and (not isinstance(message, str) or decision != "deny"):
                raise ApiError(400, "bad_request", "message is a string, and only for deny")
            if message:
                self._check_text(message)
            return {"type": "decision", "decision": decision, "message": message or None,
                    "response": decision if not message else f"deny: {message}"}
        if "answers" in given:
            answers = body["answers"]
            if (not isinstance(answers, dict) or not answers
                    or not all(isinstance(k, str) and isinstance(v, str) for k, v in answers.items())):
                raise ApiError(400, "bad_request", 'answers must map question text to option label: {"question": "label"}')
            if any(claude.has_surrogate(text) for pair in answers.items() for text in pair):
                raise ApiError(400, "bad_request", "answers hold a lone surrogate (half of a UTF-16 pair), which is"
                               " not text; nothing was sent")
            if record["kind"] != "question":
                raise ApiError(400, "bad_request", f"a {record['kind']} request takes no answers")
            return {"type": "answers", "answers": answers, "response": answers}
        response = body["response"]
        if not isinstance(response, str):
            raise ApiError(400, "bad_request", "response must be a string")
        response_type = body.get("response_type") or "text"
        if response_type == "option":
            if not (len(response) == 1 and response.isdigit() and response != "0"):
                raise ApiError(400, "bad_request", "an option is a single digit 1-9")
            return {"type": "option", "key": response, "response": response}
        if response_type != "text":
            raise ApiError(400, "bad_request", "response_type must be text or option")
        if len(response) > MAX_RESPONSE_CHARS:
            raise ApiError(400, "bad_request", f"response is longer than {MAX_RESPONSE_CHARS} characters")
        self._check_text(response)
        return {"type": "text", "text": response, "response": response}

    @staticmethod
    def _check_text(text: str) -> None:
        try:
            tmux.check_text(text)
        except ValueError as e:
            raise ApiError(400, "bad_request", str(e)) from None

    async def _deliver(self, record: dict[str, Any], plan: dict[str, Any]) -> str:
        """Deliver the answer: through the waiting hook when there is one, else by keystrokes."""
        if plan["type"] in ("decision", "answers") and await self._hand_to_hook(record, plan):
            return "hook"
        socket, target = record.get("tmux_socket"), self._target(record)
        try:
            if plan["type"] == "text":
                if await dialog_options(socket, target):
                    raise ApiError(409, "dialog_showing",
                                   "the pane shows a dialog: text would be typed into it. Answer the dialog "
                                   "(decision, answers or option) first; nothing was typed")
                await tmux.send_text(socket, target, plan["text"])
            elif plan["type"] == "option":
                before = await dialog_options(socket, target)
                if not before:
                    raise ApiError(409, "no_prompt",
                                   "the pane shows no menu: the key would land in Claude's input box;"
                                   " nothing was typed")
                await self._press_on_dialog(socket, target, plan["key"], before)
            else:
                await self._press_choice(socket, target, record, plan)
        except tmux.UnsafeSocket as e:
            raise ApiError(409, "unsafe_socket", f"{e}; nothing was typed") from None
        except tmux.PaneGone as e:
            raise ApiError(410, "pane_gone", f"the agent's tmux pane {target} is gone ({e}); the request stays pending") from None
        except tmux.TmuxError as e:
            raise ApiError(502, "tmux_failed", f"tmux failed: {e}; the request stays pending") from None
        return "keys"

    async def _hand_to_hook(self, record: dict[str, Any], plan: dict[str, Any]) -> bool:
        """Give the decision to the waiting hook; False when no hook took it (then keys are used)."""
        id = record["id"]
        waiter = self.hook_waiters.get(id)
        if waiter is None or waiter.done():
            return False
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._hook_acks[id] = ack
        try:
            waiter.set_result(claude.hook_decision(record, plan))
            await asyncio.wait_for(ack, HOOK_ACK_TIMEOUT)
            return True
        except asyncio.TimeoutError:
            log.warning("the hook for %s did not take its decision; answering with keys", id)
            return False
        finally:
            self._hook_acks.pop(id, None)
            if self.hook_waiters.get(id) is waiter:
                del self.hook_waiters[id]

    @staticmethod
    def _target(record: dict[str, Any]) -> str:
        target = pane_of(record)
        if target is None:
            raise ApiError(409, "no_pane", "this request came from outside tmux: there is no pane to type into")
        return target

    async def _press_choice(self, socket: str | None, target: str, record: dict[str, Any],
                            plan: dict[str, Any]) -> None:
        """A decision or answer by keystrokes: find its key among the options on the live screen."""
        options = await dialog_options(socket, target)
        if plan["type"] == "decision":
            key = claude.key_for_decision(plan["decision"], options)
        else:
            answers = plan["answers"]
            if len(answers) != 1:
                raise ApiError(409, "needs_hook", "several questions at once can only be answered through the hook")
            key = claude.key_for_label(next(iter(answers.values())), options)
        if key is None:
            what = "dialog" if not options else "option"
            raise ApiError(409, "no_prompt",
                           f"the pane does not show the {what} to answer (was it answered in the terminal?);"
                           " nothing was typed", screen_options=[label for _, label in options])
        await self._press_on_dialog(socket, target, key, options)
        if plan["type"] == "decision" and plan.get("message"):
            await asyncio.sleep(DENY_MESSAGE_PAUSE)
            await tmux.send_text(socket, target, plan["message"])

    @staticmethod
    async def _press_on_dialog(socket: str | None, target: str, key: str,
                               options: list[tuple[str, str]]) -> None:
        """Press `key` on the dialog showing `options`, and check that the dialog went away.

        Claude Code ignores a key that arrives in the first moments after a dialog is drawn, so a key
        that changed nothing is pressed once more; a dialog that is still there after that is an error.
        """
        loop = asyncio.get_running_loop()
        for attempt in range(2):
            await tmux.send_key(socket, target, key)
            deadline = loop.time() + KEY_CHECK_TIMEOUT / (2 - attempt)
            while loop.time() < deadline:
                await asyncio.sleep(0.05)
                if await dialog_options(socket, target) != options:
                    return
        raise ApiError(502, "keys_not_taken",
                       "the key was pressed but the dialog is still on the screen; the request stays pending")
