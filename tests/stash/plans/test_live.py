"""What live plan pages receive: one plan payload and the touched rows per transaction, fragments that
render like the page, and the connect-time snapshot."""

import pytest
from django.db import transaction

from stash import plans
from stash.plans import live
from stash.plans.models import ChangeStatus
from tests.stash.plans.test_plans import a_plan, change

pytestmark = pytest.mark.django_db


@pytest.fixture
def pushed(monkeypatch):
    """Every (groups, payload) the plans' live module publishes."""
    sent = []
    monkeypatch.setattr(live, "publish", lambda groups, payload: sent.append((groups, payload)))
    return sent


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """A block whose on_commit callbacks run at its end, as after a real commit (the test's own
    transaction never commits; what a write noted would otherwise wait for the next push)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def of_type(sent, kind) -> list:
    return [(groups, payload) for groups, payload in sent if payload["type"] == kind]


def test_a_reviewed_change_pushes_the_plan_and_that_row(pushed, commit):
    with commit():
        plan = a_plan((1, [change(proposed="Kiss_AI"), change(proposed="Hug_AI")]))
    first = plan.changes.order_by("id").first()
    pushed.clear()
    with commit():
        plans.set_change_status(first, ChangeStatus.APPROVED)

    [(groups, state)] = of_type(pushed, "plan")
    assert groups == ("plans", f"plan.{plan.pk}")
    assert state["plan"]["status"] == "reviewing"
    assert state["plan"]["counts"] == {"pending": 1, "approved": 1, "rejected": 0, "applied": 0, "failed": 0}
    assert f'data-plan="{plan.pk}" data-status="reviewing"' in state["html"]["row"]
    assert "1 approved" in state["html"]["facts"]
    [(groups, rows)] = of_type(pushed, "plan_changes")
    assert groups == f"plan.{plan.pk}"
    assert rows["changes"] == [{"id": first.pk, "status": "approved"}] and not rows["reload"]
    row = rows["html"]["rows"][str(first.pk)]
    assert 'data-status="approved"' in row and "+ Kiss_AI" in row and "90%" in row
    assert "<form" not in row and "csrf" not in row  # the page keeps its own buttons


def test_writes_in_one_transaction_are_one_push(pushed, commit):
    with commit():
        plan = a_plan((1, [change(), change(proposed="B")]), (2, [change()]))
    ids = list(plan.changes.values_list("pk", flat=True))
    pushed.clear()
    with commit(), transaction.atomic():
        for pk in ids:
            live.changed(plan.pk, [pk])
    assert len(of_type(pushed, "plan")) == 1
    [(_, rows)] = of_type(pushed, "plan_changes")
    assert sorted(c["id"] for c in rows["changes"]) == sorted(ids)


def test_a_bulk_review_past_the_row_limit_asks_the_page_to_re_read(pushed, commit):
    with commit():
        plan = a_plan((1, [change(proposed=f"Tag {n}") for n in range(live.MAX_ROWS + 1)]))
    pushed.clear()
    with commit():
        assert plans.review_plan(plan, ChangeStatus.APPROVED) == live.MAX_ROWS + 1
    [(_, state)] = of_type(pushed, "plan")
    assert state["plan"]["counts"]["approved"] == live.MAX_ROWS + 1
    [(_, rows)] = of_type(pushed, "plan_changes")
    assert rows["reload"] and rows["changes"] == [] and rows["html"]["rows"] == {}


def test_new_plans_and_new_changes_are_pushed(pushed, commit):
    with commit():
        plan = plans.create_plan("From analysis")
    [(groups, state)] = of_type(pushed, "plan")
    assert groups == ("plans", f"plan.{plan.pk}") and state["plan"]["name"] == "From analysis"
    with commit():
        plans.add_changes(plan, 7, [change()])
    assert of_type(pushed, "plan")[-1][1]["plan"]["total"] == 1
    assert of_type(pushed, "plan_changes")[-1][1]["reload"]


def test_a_rolled_back_write_pushes_nothing_and_the_next_one_is_whole(pushed, commit):
    with commit():
        plan = a_plan((1, [change()]))
    pk = plan.changes.get().pk
    pushed.clear()
    with commit():
        with pytest.raises(RuntimeError), transaction.atomic():
            live.changed(plan.pk, [pk])
            raise RuntimeError
        assert pushed == []
        live.changed(plan.pk)
    [(_, rows)] = of_type(pushed, "plan_changes")
    assert [c["id"] for c in rows["changes"]] == [pk]  # what the rolled-back write noted, re-read


def test_the_change_row_fragment_is_what_the_page_renders(browser):
    plan = a_plan((1, [change(proposed="Kiss_AI")]))
    changed = plan.changes.get()
    html = browser.get(f"/plans/{plan.pk}/").content.decode()
    fragment = live.change_row(changed)
    cells = fragment.split("<td data-change-actions>")[0]
    assert cells in html
    assert 'data-unless-status="approved"' in html  # the page's buttons, in the same row


def test_the_snapshot_has_the_newest_plans_and_a_plans_own_state():
    older = a_plan((1, [change()]), name="Older")
    newer = a_plan((2, [change()]), name="Newer")
    assert [p["plan"]["name"] for p in live.snapshot("plans")] == ["Newer", "Older"]
    [state] = live.snapshot(f"plan.{older.pk}")
    assert state["plan"]["id"] == older.pk and state["plan"]["total"] == 1
    assert live.snapshot("plan.999999") == [] and newer.pk
