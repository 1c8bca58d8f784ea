"""The rules of notify targets (server/notify_rules.py) on a fake clock: delay, answered first, gathering,
rate limit, backoff, privacy of the text."""

from __future__ import annotations

from piko.server.notify_rules import Ask, Schedule, ask_of, compose
from tests.support.records import record


def ask(n: int, place: str = "shop/auth") -> Ask:
    return Ask(id=f"r{n}", place=place, tool="Bash", summary=f"rm -rf /tmp/secret-{n}")


def schedule() -> Schedule:
    rules = Schedule(rate=10, gather=1, backoff=2, tries=4)
    rules.add_target("t", 5)
    return rules


def test_a_request_goes_out_after_the_delay_and_the_gathering_time() -> None:
    rules = schedule()
    rules.created(ask(1), now=100)
    assert rules.take(105.9) == [] and rules.next_time() == 106
    [batch] = rules.take(106)
    assert batch.target == "t" and [a.id for a in batch.asks] == ["r1"] and batch.attempt == 1
    rules.sent(batch)
    assert rules.take(1000) == [] and rules.next_time() is None


def test_a_request_answered_within_the_delay_is_never_sent() -> None:
    rules = schedule()
    rules.created(ask(1), now=0)
    rules.resolved("r1")
    assert rules.next_time() is None and rules.take(1000) == []


def test_each_target_has_its_own_delay() -> None:
    rules = schedule()
    rules.add_target("now", 0)
    rules.created(ask(1), now=0)
    assert [b.target for b in rules.take(1)] == ["now"]
    assert [b.target for b in rules.take(6)] == ["t"]


def test_a_burst_is_one_message_naming_every_request() -> None:
    rules = schedule()
    for n in range(5):
        rules.created(ask(n, place=f"p{n}/main"), now=n * 0.1)
    [batch] = rules.take(6.5)
    assert [a.id for a in batch.asks] == ["r0", "r1", "r2", "r3", "r4"]
    title, body = compose(list(batch.asks), content=False)
    assert title == "5 agents need you"
    assert body == "5 agents need you: p0/main, p1/main, p2/main, p3/main, p4/main"


def test_at_most_one_message_per_rate_period_and_the_ones_between_are_gathered() -> None:
    rules = schedule()
    rules.created(ask(1), now=0)
    [first] = rules.take(6)
    rules.sent(first)
    rules.created(ask(2), now=2)  # due at 7
    rules.created(ask(3), now=4)  # due at 9
    assert rules.take(9.5) == [] and rules.next_time() == 16
    [second] = rules.take(16)
    assert [a.id for a in second.asks] == ["r2", "r3"]


def test_a_failed_message_is_tried_again_with_backoff_then_dropped() -> None:
    rules = schedule()
    rules.created(ask(1), now=0)
    [batch] = rules.take(6)
    times = []
    for _ in range(3):
        when = rules.failed(batch, now=10)
        assert when is not None
        times.append(when - 10)
        assert rules.take(when - 0.01) == []
        [batch] = rules.take(when)
    assert times == [2, 4, 8] and batch.attempt == 4
    assert rules.failed(batch, now=30) is None  # the fourth try failed: dropped
    assert rules.take(1000) == [] and rules.next_time() is None


def test_nothing_new_goes_out_while_a_message_waits_to_be_tried_again() -> None:
    rules = schedule()
    rules.created(ask(1), now=0)
    [batch] = rules.take(6)
    retry_at = rules.failed(batch, now=6)
    rules.created(ask(2), now=7)
    assert retry_at is not None and rules.next_time() == retry_at
    [again] = rules.take(retry_at)
    assert [a.id for a in again.asks] == ["r1"]
    rules.sent(again)
    assert [a.id for b in rules.take(16) for a in b.asks] == ["r2"]


def test_a_request_answered_while_its_message_waits_to_be_retried_leaves_it() -> None:
    rules = schedule()
    rules.created(ask(1), now=0)
    rules.created(ask(2), now=0)
    [batch] = rules.take(6)
    when = rules.failed(batch, now=6)
    rules.resolved("r1")
    assert when is not None
    [again] = rules.take(when)
    assert [a.id for a in again.asks] == ["r2"]
    when = rules.failed(again, now=when)
    rules.resolved("r2")
    assert rules.take(1000) == [] and rules.next_time() is None


def test_a_removed_target_gets_nothing_more() -> None:
    rules = schedule()
    rules.created(ask(1), now=0)
    rules.remove_target("t")
    assert rules.take(1000) == [] and rules.next_time() is None


def test_without_content_a_message_says_only_where() -> None:
    one = ask_of(record(id="a", project_name="shop", env_name="auth", tool_name="Bash",
                        summary="curl https://x.example/?key=hunter2", kind="permission"))
    assert compose([one], content=False) == ("Claude needs you", "Claude needs you in shop/auth")
    title, body = compose([one, ask(2, "web/main")], content=False)
    assert "hunter2" not in title + body and "Bash" not in body and "rm -rf" not in body


def test_with_content_a_message_names_the_tool_and_the_command() -> None:
    one = ask_of(record(id="a", project_name="shop", env_name="auth", tool_name="Bash", summary="make deploy",
                        kind="permission"))
    assert compose([one], content=True)[1] == "Claude needs you in shop/auth: Bash: make deploy"
    body = compose([one, ask(2, "web/main")], content=True)[1]
    assert body == "2 agents need you: shop/auth (Bash: make deploy), web/main (Bash: rm -rf /tmp/secret-2)"


def test_a_long_summary_names_the_first_requests_and_counts_the_rest() -> None:
    body = compose([ask(n, f"p{n}") for n in range(12)], content=False)[1]
    assert body.startswith("12 agents need you: p0, p1") and body.endswith("p7, and 4 more")
    assert compose([ask_of(record(id="x", kind="idle"))], content=False)[1] == "Claude needs you"
