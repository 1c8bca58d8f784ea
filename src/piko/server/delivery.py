"""Carrying an answer to the agent: through its waiting PermissionRequest hook (a structured decision),
else as keystrokes into its exact tmux pane, never sooner than the agent can take it. An MCP
elicitation's answer goes through its waiting Elicitation hook only: it has no keystroke route.

The request reaches the server about half a second before Claude Code draws its dialog, and its hook
starts listening a moment after the request exists. An answer given in that window is held (at most
HOLD_SECONDS) until the hook listens or the dialog is on the screen, then carried out. The keystroke
rules stay: no option key without a menu on the screen, no text into a showing dialog.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol

import msgspec

from piko import claude, claude_screen, dialogs, elicitation, tmux
from piko.models import (
    Answer,
    Answers,
    Decision,
    ElicitationDetail,
    Elicited,
    FleetSession,
    OptionKey,
    PlanChoice,
    Record,
    Text,
)
from piko.server.errors import ApiRefusal
from piko.server.mailbox import Mailbox

DECISIONS = ("allow", "always", "deny")
MAX_RESPONSE_CHARS = 100_000
DENY_MESSAGE_PAUSE = 0.4  # after pressing No, before typing the message for Claude
KEY_CHECK_TIMEOUT = 1.5  # how long a pressed key may take to close the dialog on screen
HOLD_SECONDS = 5.0  # how long an answer may wait for its dialog or its hook
HOLD_POLL = 0.1
DIALOG_SETTLE = 0.3  # Claude Code drops keys that arrive in a freshly drawn dialog's first ~0.15 s
DIALOG_KINDS = ("permission", "question")  # requests whose answer goes to a dialog (or its hook)
HOOK_ONLY_KINDS = ("elicitation",)  # requests only their waiting hook can answer (no keys)
Structured = Decision | PlanChoice | Answers | Elicited  # what a waiting hook can carry


def pane_of(record: Record | FleetSession) -> str | None:
    """The tmux target of a request (or a fleet session): its pane, else its tmux session's active pane (exact
    name), else None."""
    target, session = record.tmux_target, record.tmux_session
    if target:
        return target
    if session:
        return f"={session}:"
    return None


class Panes(Protocol):
    """What delivery needs of tmux: read a pane's screen, type into it. Raises tmux.TmuxError (PaneGone,
    UnsafeSocket) as tmux.py does. In-process tests give a fake pane."""

    async def capture(self, socket: str | None, target: str, history: int = 0, *, join: bool = False) -> str: ...

    async def send_text(self, socket: str | None, target: str, text: str) -> None: ...

    async def send_key(self, socket: str | None, target: str, key: str) -> None: ...

    async def session_name(self, socket: str | None, target: str) -> str: ...


class TmuxPanes:
    """The real panes, through tmux (tmux.py)."""

    async def capture(self, socket: str | None, target: str, history: int = 0, *, join: bool = False) -> str:
        return await tmux.capture(socket, target, history, join=join)

    async def send_text(self, socket: str | None, target: str, text: str) -> None:
        await tmux.send_text(socket, target, text)

    async def send_key(self, socket: str | None, target: str, key: str) -> None:
        await tmux.send_key(socket, target, key)

    async def session_name(self, socket: str | None, target: str) -> str:
        return await tmux.run(socket, "display-message", "-p", "-t", target, "#{session_name}")


def plan(record: Record, body: dict[str, Any]) -> Answer:
    """Check an answer (a /respond body, JSON as sent: its sentences say what is wrong) against `record`
    before anything is typed; returns what to deliver."""
    given = [k for k in ("response", "decision", "answers", "plan", "elicitation") if body.get(k) is not None]
    if len(given) != 1:
        raise ApiRefusal(400, "bad_request", "give exactly one of response, decision, answers, plan or elicitation")
    if "elicitation" in given:
        return elicited(record, body["elicitation"])
    if record.kind in HOOK_ONLY_KINDS:
        raise ApiRefusal(400, "bad_request", "an MCP elicitation takes elicitation: {\"action\": \"accept\", "
                         "\"content\": {...}}, or action decline or cancel")
    if body.get("suggestions") is not None and body.get("decision") != "always":
        raise ApiRefusal(400, "bad_request", "suggestions go with the decision always")
    if "plan" in given:
        return plan_choice(record, body)
    if "decision" in given:
        decision = body["decision"]
        if decision not in DECISIONS:
            raise ApiRefusal(400, "bad_request", "decision must be one of allow, always, deny")
        if record.kind != "permission":
            raise ApiRefusal(400, "bad_request", f"a {record.kind} request takes no decision")
        message = body.get("message")
        if message is not None and (not isinstance(message, str) or decision != "deny"):
            raise ApiRefusal(400, "bad_request", "message is a string, and only for deny")
        if message:
            _check_text(message)
        return Decision(decision=decision, message=message or None,
                        suggestions=chosen_suggestions(record, body.get("suggestions")))
    if "answers" in given:
        if record.kind != "question":
            raise ApiRefusal(400, "bad_request", f"a {record.kind} request takes no answers")
        try:
            return Answers(answers=dialogs.joined_answers(record.tool_input, body["answers"]))
        except ValueError as e:
            raise ApiRefusal(400, "bad_request", str(e)) from None
    response = body["response"]
    if not isinstance(response, str):
        raise ApiRefusal(400, "bad_request", "response must be a string")
    response_type = body.get("response_type") or "text"
    if response_type == "option":
        if not (len(response) == 1 and response.isdigit() and response != "0"):
            raise ApiRefusal(400, "bad_request", "an option is a single digit 1-9")
        return OptionKey(key=response)
    if response_type != "text":
        raise ApiRefusal(400, "bad_request", "response_type must be text or option")
    if len(response) > MAX_RESPONSE_CHARS:
        raise ApiRefusal(400, "bad_request", f"response is longer than {MAX_RESPONSE_CHARS} characters")
    _check_text(response)
    return Text(text=response)


def elicited(record: Record, reply: Any) -> Elicited:
    """An MCP elicitation's answer: accept with content checked against the form, decline or cancel."""
    if record.kind != "elicitation":
        raise ApiRefusal(400, "bad_request", f"a {record.kind} request takes no elicitation answer")
    if not isinstance(reply, dict) or reply.get("action") not in elicitation.ACTIONS:
        raise ApiRefusal(400, "bad_request", "elicitation is {\"action\": accept, decline or cancel, "
                         "\"content\": {...} with accept}")
    unknown = set(reply) - {"action", "content"}
    if unknown:
        raise ApiRefusal(400, "bad_request", f"elicitation has action and content, not {sorted(unknown)[0]}")
    action, content = reply["action"], reply.get("content")
    if action != "accept":
        if content is not None:
            raise ApiRefusal(400, "bad_request", f"content goes with accept only, not {action}")
        return Elicited(action=action)
    fields = msgspec.to_builtins(record.detail.fields) if isinstance(record.detail, ElicitationDetail) else []
    try:
        checked = elicitation.check_content(fields, {} if content is None else content)
    except ValueError as e:
        raise ApiRefusal(400, "bad_request", str(e)) from None
    return Elicited(action="accept", content=checked)


def chosen_suggestions(record: Record, chosen: Any) -> tuple[int, ...] | None:
    """The indexes of the permission_suggestions an "always" grants (None: all of them)."""
    if chosen is None:
        return None
    count = len(record.permission_suggestions or [])
    if (not isinstance(chosen, list) or not chosen
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in chosen)):
        raise ApiRefusal(400, "bad_request", "suggestions is a non-empty list of suggestion indexes, such as [0, 2]")
    wrong = [i for i in chosen if not 0 <= i < count]
    if wrong:
        raise ApiRefusal(400, "bad_request", f"this request has {count} suggestion(s): index {wrong[0]} is none of"
                         " them")
    return tuple(sorted(set(chosen)))


def plan_choice(record: Record, body: dict[str, Any]) -> PlanChoice:
    """A plan approval (auto, manual) or keep planning with feedback, for an ExitPlanMode request."""
    mode, message = body["plan"], body.get("message")
    if mode not in ("auto", "manual", "keep"):
        raise ApiRefusal(400, "bad_request", "plan must be one of auto, manual, keep")
    if record.kind != "permission" or record.tool_name != dialogs.PLAN_TOOL:
        raise ApiRefusal(400, "bad_request", "plan answers only a plan approval (ExitPlanMode)")
    if message is not None and (not isinstance(message, str) or mode != "keep"):
        raise ApiRefusal(400, "bad_request", "message is a string, and only with plan keep (feedback for Claude)")
    if message:
        _check_text(message)
    return PlanChoice(plan=mode, message=message or None)


def structured(record: Record, plan: Answer) -> Structured | None:
    """`plan` as a structured answer a waiting hook can carry; None for text, or an option that names no
    decision or lone question's label."""
    if isinstance(plan, (Decision, PlanChoice, Answers, Elicited)):
        return plan
    if isinstance(plan, OptionKey):
        return claude.option_answer(record, plan.key)
    return None


def _check_text(text: str) -> None:
    try:
        tmux.check_text(text)
    except ValueError as e:
        raise ApiRefusal(400, "bad_request", str(e)) from None


class Courier:
    """Delivers answers: to the hook waiting in `mailbox`, else as keys into `panes`. `current(id)` is the
    request as it is now, and raises ApiRefusal(409) once it is no longer pending."""

    def __init__(self, mailbox: Mailbox, panes: Panes, current: Callable[[str], Record]) -> None:
        self.mailbox = mailbox
        self.panes = panes
        self.current = current

    async def dialog_options(self, socket: str | None, target: str) -> list[tuple[str, str]]:
        """The options of the Claude Code dialog the pane shows now; [] when none. Raises tmux errors."""
        return claude_screen.screen_options(await self.panes.capture(socket, target, join=True))

    def _hook_plan(self, record: Record, plan: Answer) -> Structured | None:
        """What a hook waiting for `record` would be given for `plan`; None when no hook can carry it."""
        if not self.mailbox.waiting(record.id):
            return None
        return structured(record, plan)

    async def hold(self, id: str, plan: Answer) -> None:
        """Wait (at most HOLD_SECONDS) until `plan` can be carried out for request `id`: a hook waits that
        can carry it, or the pane shows a dialog. Only requests that ask in a dialog are held; an idle
        prompt takes its answer at once. Raises ApiRefusal(409) when the request stops being pending
        meanwhile; after the hold, deliver() says why what is still missing stops the answer."""
        record = self.current(id)
        if record.kind not in DIALOG_KINDS + HOOK_ONLY_KINDS:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HOLD_SECONDS
        if record.kind in HOOK_ONLY_KINDS:  # no dialog to read: only its hook can take the answer
            while self._hook_plan(record, plan) is None and loop.time() < deadline:
                await asyncio.sleep(HOLD_POLL)
                record = self.current(id)
            return
        target, waited = pane_of(record), False
        # A hook that was waiting when the server was killed comes back within a second or two: its
        # structured decision is better than keys, so the dialog alone does not end the hold then.
        hook_coming = record.hook_waiting and structured(record, plan) is not None
        while True:
            record = self.current(id)
            if self._hook_plan(record, plan) is not None:
                return
            if target is not None and not (hook_coming and record.hook_waiting):
                try:
                    drawn = bool(await self.dialog_options(record.tmux_socket, target))
                except tmux.TmuxError:
                    return  # deliver() reports it
                if drawn:
                    if waited:  # it was drawn just now: let it take keys
                        await asyncio.sleep(DIALOG_SETTLE)
                    return
            if loop.time() >= deadline:
                return
            waited = True
            await asyncio.sleep(HOLD_POLL)

    async def deliver(self, record: Record, plan: Answer,
                      mark_typing: Callable[[str], Awaitable[None]]) -> Literal["keys", "hook"]:
        """Deliver the answer: through the waiting hook when there is one, else by keystrokes
        (`mark_typing(id)` runs just before the first key)."""
        hooked = self._hook_plan(record, plan)
        if hooked is not None and await self._hand_to_hook(record, hooked):
            return "hook"
        if isinstance(plan, Elicited) or record.kind in HOOK_ONLY_KINDS:
            raise ApiRefusal(409, "needs_hook",
                             "no hook waits for this MCP elicitation (it gave up, or `piko cc init` has not "
                             f"installed the Elicitation hook; waited {HOLD_SECONDS:g} s): answer it in the "
                             "terminal; nothing was sent")
        if record.typing_since:
            raise ApiRefusal(409, "typing_interrupted",
                           f"the server stopped while an answer was being typed into the pane (at "
                           f"{record.typing_since}): it may have arrived. Look at the pane; answer there or "
                           "dismiss this request. Nothing was typed now")
        socket, target = record.tmux_socket, self._target(record)
        held = f" (waited {HOLD_SECONDS:g} s for it)" if record.kind in DIALOG_KINDS else ""
        try:
            if isinstance(plan, Text):
                if await self.dialog_options(socket, target):
                    raise ApiRefusal(409, "dialog_showing",
                                   "the pane shows a dialog: text would be typed into it. Answer the dialog "
                                   "(decision, answers or option) first; nothing was typed")
                await mark_typing(record.id)
                await self.panes.send_text(socket, target, plan.text)
            elif isinstance(plan, OptionKey):
                before = await self.dialog_options(socket, target)
                if not before:
                    raise ApiRefusal(409, "no_prompt",
                                   f"the pane shows no menu and no hook is waiting for it{held}: the key would "
                                   "land in Claude's input box; nothing was typed")
                await mark_typing(record.id)
                await self._press_on_dialog(socket, target, plan.key, before)
            else:
                if (isinstance(plan, Decision) and plan.suggestions is not None
                        and len(plan.suggestions) < len(record.permission_suggestions or [])):
                    raise ApiRefusal(409, "needs_hook", "only the waiting hook can grant some of the suggestions"
                                     " (the dialog's own option grants them all); nothing was typed")
                await self._press_choice(socket, target, plan, held, lambda: mark_typing(record.id))
        except tmux.UnsafeSocket as e:
            raise ApiRefusal(409, "unsafe_socket", f"{e}; nothing was typed") from None
        except tmux.PaneGone as e:
            raise ApiRefusal(410, "pane_gone",
                             f"the agent's tmux pane {target} is gone ({e}); the request stays pending") from None
        except tmux.TmuxError as e:
            raise ApiRefusal(502, "tmux_failed", f"tmux failed: {e}; the request stays pending") from None
        return "keys"

    async def _hand_to_hook(self, record: Record, plan: Structured) -> bool:
        """Give the decision to the waiting hook; False when no hook took it (then keys are used)."""
        if isinstance(plan, Elicited):
            output = elicitation.hook_output(plan.action, plan.content)
        else:
            output = claude.hook_decision(record, plan)
        return await self.mailbox.hand(record.id, output)

    @staticmethod
    def _target(record: Record) -> str:
        target = pane_of(record)
        if target is None:
            raise ApiRefusal(409, "no_pane", "this request came from outside tmux and no hook is waiting for it:"
                                           " there is no pane to type into")
        return target

    async def _press_choice(self, socket: str | None, target: str, plan: Structured, held: str,
                            mark_typing: Callable[[], Awaitable[None]]) -> None:
        """A decision or answer by keystrokes: find its key among the options on the live screen."""
        options = await self.dialog_options(socket, target)
        key: str | None = None
        if not options:
            pass  # no dialog: even Esc (deny) would land in Claude's input box, or interrupt it
        elif isinstance(plan, Decision):
            key = claude_screen.key_for_decision(plan.decision, options)
        elif isinstance(plan, PlanChoice):
            key = dialogs.key_for_plan(plan.plan, options)
        elif isinstance(plan, Answers):
            answers = plan.answers
            if len(answers) != 1:
                raise ApiRefusal(409, "needs_hook", "several questions at once can only be answered through the hook")
            key = claude_screen.key_for_label(next(iter(answers.values())), options)
        if key is None:
            what = f"dialog and no hook is waiting for it{held}" if not options else "option"
            raise ApiRefusal(409, "no_prompt",
                           f"the pane does not show the {what} (was it answered in the terminal?);"
                           " nothing was typed", screen_options=[label for _, label in options])
        await mark_typing()
        await self._press_on_dialog(socket, target, key, options)
        if isinstance(plan, (Decision, PlanChoice)) and plan.message:
            await asyncio.sleep(DENY_MESSAGE_PAUSE)
            await self.panes.send_text(socket, target, plan.message)

    async def _press_on_dialog(self, socket: str | None, target: str, key: str,
                               options: list[tuple[str, str]]) -> None:
        """Press `key` on the dialog showing `options`, and check that the dialog went away.

        Claude Code ignores a key that arrives in the first moments after a dialog is drawn, so a key
        that changed nothing is pressed once more; a dialog that is still there after that is an error.
        """
        loop = asyncio.get_running_loop()
        for attempt in range(2):
            await self.panes.send_key(socket, target, key)
            deadline = loop.time() + KEY_CHECK_TIMEOUT / (2 - attempt)
            while loop.time() < deadline:
                await asyncio.sleep(0.05)
                if await self.dialog_options(socket, target) != options:
                    return
        raise ApiRefusal(502, "keys_not_taken",
                       "the key was pressed but the dialog is still on the screen; the request stays pending")
