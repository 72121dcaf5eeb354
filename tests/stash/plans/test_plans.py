"""Analysis plans: building and reviewing them (the rules in stash.plans), the Plans pages, the API and the
admin. Applying them to Stash is tested in test_apply.py."""

import re
import uuid

import pytest
from django.test import Client
from rest_framework.test import APIClient

from jobs.models import Job, JobStatus
from stash import plans
from stash.models import Scene, SceneFile
from stash.plans import PlanError, PlanStateError
from stash.plans.models import AnalysisPlan, ChangeStatus, PlanChange, PlanStatus
from stash.plans.review import status_for

pytestmark = pytest.mark.django_db

PENDING, APPROVED, REJECTED, APPLIED, FAILED = (
    ChangeStatus.PENDING,
    ChangeStatus.APPROVED,
    ChangeStatus.REJECTED,
    ChangeStatus.APPLIED,
    ChangeStatus.FAILED,
)


def change(field="tags", action="add", proposed="Kiss_AI", current=None, confidence=0.9) -> dict:
    return {
        "field": field,
        "action": action,
        "current_value": current,
        "proposed_value": proposed,
        "confidence": confidence,
    }


def a_plan(*per_scene, name="Plan", **create) -> AnalysisPlan:
    """A plan with changes: a_plan((scene_id, [change, ...]), ...)."""
    plan = plans.create_plan(name, **create)
    for scene_id, changes in per_scene:
        plans.add_changes(plan, scene_id, changes)
    return plan


def mirror_scene(pk, title="", path=""):
    scene = Scene.objects.create(id=pk, title=title)
    if path:
        SceneFile.objects.create(id=pk * 10, scene=scene, path=path, basename=path.rsplit("/", 1)[-1])
    return scene


def set_status(plan, status, **filters):
    PlanChange.objects.filter(plan=plan, **filters).update(status=status)


# --- building plans ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, message",
    [
        (change(field="rating", action="set", proposed=5), "Unknown field 'rating'"),
        (change(field="tags", action="set"), "A tags change cannot 'set'; it can add or remove"),
        (change(field="studio", action="add", proposed="X"), "A studio change cannot 'add'"),
        (change(field="tags", action="add", proposed=""), "must be a name or a list of names"),
        (change(field="tags", action="add", proposed=[]), "must name at least one"),
        (change(field="tags", action="remove", proposed=None, current=None), "to remove must be a name"),
        (change(field="title", action="set", proposed=None), "The new title must be text"),
        (change(field="markers", action="add", proposed={"seconds": 3}), "A marker needs a primary tag"),
        (change(field="markers", action="add", proposed={"seconds": -1, "tags": ["A"]}), "at least 0"),
        (change(field="markers", action="add", proposed={"seconds": 9, "end_seconds": 2, "tags": ["A"]}), "before"),
        (change(field="markers", action="remove", proposed=None, current={"title": "x"}), 'current_value {"id"'),
        (change(confidence=1.5), "confidence must be between 0 and 1"),
        (change(confidence=float("nan")), "confidence must be a number"),
        ({**change(), "extra": 1}, "Unknown key(s) extra"),
    ],
)
def test_add_changes_refuses_changes_applying_could_not_interpret(bad, message):
    plan = plans.create_plan("Plan")
    with pytest.raises(PlanError, match=re.escape(message)):
        plans.add_changes(plan, 7, [change(), bad])
    assert not PlanChange.objects.exists()  # all or nothing


def test_add_changes_stores_pending_changes_for_the_scene():
    plan = plans.create_plan("Video analysis", metadata={"analyzer": "tagger"})
    created = plans.add_changes(
        plan,
        7,
        [
            change(),
            change("tags", "remove", None, current=["AI_TagMe"], confidence=1),
            change("markers", "add", {"seconds": 83, "title": "Kiss_AI", "tags": ["Kiss_AI"]}),
            change("markers", "remove", None, current={"id": "12", "seconds": 3.0}),
            change("studio", "set", None),
        ],
    )
    assert len(created) == 5
    assert set(plan.changes.values_list("scene_id", "status")) == {(7, PENDING)}
    assert plan.status == PlanStatus.DRAFT and plan.metadata == {"analyzer": "tagger"}


def test_closed_plans_refuse_new_changes():
    for status in (PlanStatus.APPLIED, PlanStatus.CANCELLED):
        plan = plans.create_plan("Closed")
        AnalysisPlan.objects.filter(pk=plan.pk).update(status=status)
        with pytest.raises(PlanStateError, match=f"is (already )?{status}"):
            plans.add_changes(plan, 1, [change()])


def test_a_plan_needs_a_name():
    with pytest.raises(PlanError, match="needs a name"):
        plans.create_plan("  ")


# --- the status rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "current, counts, building, expected",
    [
        (PlanStatus.DRAFT, {}, False, PlanStatus.DRAFT),
        (PlanStatus.DRAFT, {PENDING: 3}, False, PlanStatus.DRAFT),
        (PlanStatus.DRAFT, {PENDING: 2, APPROVED: 1}, False, PlanStatus.REVIEWING),
        (PlanStatus.REVIEWING, {PENDING: 3}, False, PlanStatus.REVIEWING),  # reset decisions: still reviewing
        (PlanStatus.REVIEWING, {APPLIED: 1, REJECTED: 2}, False, PlanStatus.APPLIED),
        (PlanStatus.REVIEWING, {APPLIED: 1, FAILED: 2}, False, PlanStatus.APPLIED),
        (PlanStatus.REVIEWING, {APPLIED: 1, APPROVED: 1}, False, PlanStatus.REVIEWING),
        (PlanStatus.REVIEWING, {REJECTED: 3}, False, PlanStatus.CANCELLED),
        (PlanStatus.REVIEWING, {REJECTED: 3}, True, PlanStatus.REVIEWING),  # still being built
        (PlanStatus.REVIEWING, {REJECTED: 1, FAILED: 1}, False, PlanStatus.REVIEWING),
        (PlanStatus.DRAFT, {FAILED: 1}, False, PlanStatus.REVIEWING),
        (PlanStatus.APPLIED, {PENDING: 1}, False, PlanStatus.APPLIED),  # final
        (PlanStatus.CANCELLED, {APPROVED: 1}, False, PlanStatus.CANCELLED),  # final
    ],
)
def test_the_plan_status_rule(current, counts, building, expected):
    assert status_for(current, counts, building=building) == expected


def test_reviewing_one_change_moves_a_draft_to_reviewing():
    plan = a_plan((1, [change(), change(proposed="Other_AI")]))
    first = plan.changes.order_by("id").first()
    plans.set_change_status(first, APPROVED)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.REVIEWING
    assert first.status == APPROVED


def test_rejecting_everything_cancels_a_plan_but_not_one_still_being_built():
    built = a_plan((1, [change()]))
    assert plans.review_plan(built, REJECTED) == 1
    built.refresh_from_db()
    assert built.status == PlanStatus.CANCELLED

    building = a_plan((1, [change()]), source_job_id=uuid.uuid4())
    plans.review_plan(building, REJECTED)
    assert building.status == PlanStatus.REVIEWING
    plans.add_changes(building, 2, [change()])  # the analysis goes on adding
    plans.finish_plan(building, {"scenes_analyzed": 2})
    assert building.status == PlanStatus.REVIEWING  # one change still pending
    assert building.metadata == {"scenes_analyzed": 2}
    plans.review_plan(building, REJECTED)
    building.refresh_from_db()
    assert building.status == PlanStatus.CANCELLED


def test_finishing_a_plan_whose_changes_were_all_rejected_cancels_it():
    plan = a_plan((1, [change()]), source_job_id=uuid.uuid4())
    plans.review_plan(plan, REJECTED)
    plans.finish_plan(plan)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.CANCELLED


def test_unknown_review_statuses_are_errors_and_change_nothing():
    plan = a_plan((1, [change(), change(proposed="B")]))
    for action in (lambda s: plans.review_plan(plan, s), lambda s: plans.review_by_field(plan, "tags", s)):
        with pytest.raises(PlanError, match="Unknown review status 'rejcet'"):
            action("rejcet")
    with pytest.raises(PlanError, match="Unknown review status 'applied'"):
        plans.set_change_status(plan.changes.first(), APPLIED)  # only applying sets applied
    assert set(plan.changes.values_list("status", flat=True)) == {PENDING}


def test_applied_changes_can_never_be_reviewed_again():
    plan = a_plan((1, [change(), change("title", "set", "T")]))
    applied, other = plan.changes.order_by("id")
    set_status(plan, APPLIED, pk=applied.pk)
    for status in (PENDING, REJECTED, APPROVED):
        with pytest.raises(PlanStateError, match=f"Change {applied.pk} was already applied"):
            plans.set_change_status(applied, status)
    assert plans.review_plan(plan, APPROVED) == 1
    assert plans.review_plan(plan, PENDING) == 1
    assert dict(plan.changes.values_list("pk", "status")) == {applied.pk: APPLIED, other.pk: PENDING}
    assert plans.review_plan(plan, REJECTED) == 1
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPLIED  # nothing pending or approved left, one change applied


def closed_plan_actions(plan):
    return (
        lambda: plans.set_change_status(plan.changes.get(), APPROVED),
        lambda: plans.review_scene(plan, 1, APPROVED),
        lambda: plans.review_by_confidence(plan, 0.5),
        lambda: plans.edit_proposed_value(plan.changes.get(), "New_AI"),
        lambda: plans.cancel_plan(plan),
    )


def test_applied_and_cancelled_plans_refuse_review_with_a_clear_error():
    for status, word in ((PlanStatus.APPLIED, "already applied"), (PlanStatus.CANCELLED, "cancelled")):
        plan = a_plan((1, [change()]))
        AnalysisPlan.objects.filter(pk=plan.pk).update(status=status)
        for action in closed_plan_actions(plan):
            with pytest.raises(PlanStateError, match=f"Plan {plan.pk} is {word}"):
                action()
        assert plan.changes.get().status == PENDING


def test_bulk_decisions_take_undecided_changes_and_reset_undoes_decisions():
    plan = a_plan(
        (
            1,
            [
                change(confidence=0.95),
                change(proposed="B", confidence=0.5),
                change("title", "set", "T", confidence=0.9),
            ],
        ),
        (2, [change(confidence=0.99), change("details", "set", "D", confidence=0.2)]),
    )
    high, low, title = plan.changes.filter(scene_id=1).order_by("id")
    plans.set_change_status(low, REJECTED)
    assert plans.review_by_confidence(plan, 0.9) == 3  # high, title, scene 2's tag; the rejected stays
    assert plans.review_by_field(plan, "details", REJECTED) == 1
    assert dict(plan.changes.filter(scene_id=1).values_list("pk", "status")) == {
        high.pk: APPROVED,
        low.pk: REJECTED,
        title.pk: APPROVED,
    }
    assert plans.review_scene(plan, 1, PENDING) == 3
    assert set(plan.changes.filter(scene_id=1).values_list("status", flat=True)) == {PENDING}
    assert set(plan.changes.filter(scene_id=2).values_list("status", flat=True)) == {APPROVED, REJECTED}
    set_status(plan, FAILED, scene_id=2, field="tags")
    assert plans.review_scene(plan, 2, APPROVED) == 1  # a failed change gets a new decision
    for bad in (1.5, -0.1, "high", None, True):
        with pytest.raises(PlanError, match="threshold"):
            plans.review_by_confidence(plan, bad)
    with pytest.raises(PlanError, match="Unknown field 'rating'"):
        plans.review_by_field(plan, "rating", APPROVED)


def test_only_a_pending_change_can_be_edited_and_the_new_value_is_checked():
    plan = a_plan((1, [change(), change("markers", "add", {"seconds": 3, "tags": ["A"]})]))
    tag, marker = plan.changes.order_by("id")
    plans.edit_proposed_value(tag, ["Kiss_AI", "Hug_AI"])
    tag.refresh_from_db()
    assert tag.proposed_value == ["Kiss_AI", "Hug_AI"]
    with pytest.raises(PlanError, match="must be a name or a list of names"):
        plans.edit_proposed_value(tag, 42)
    with pytest.raises(PlanError, match="primary tag"):
        plans.edit_proposed_value(marker, {"seconds": 3})
    plans.set_change_status(tag, APPROVED)
    with pytest.raises(PlanStateError, match=f"Change {tag.pk} is approved: only a pending change can be edited"):
        plans.edit_proposed_value(tag, "Other_AI")


def test_cancelling_keeps_applied_changes_and_refuses_an_applied_plan():
    plan = a_plan((1, [change(), change(proposed="B")]))
    set_status(plan, APPLIED, proposed_value="Kiss_AI")
    plans.cancel_plan(plan)
    assert plan.status == PlanStatus.CANCELLED
    assert sorted(plan.changes.values_list("status", flat=True)) == [APPLIED, PENDING]
    done = a_plan((1, [change()]))
    AnalysisPlan.objects.filter(pk=done.pk).update(status=PlanStatus.APPLIED)
    with pytest.raises(PlanStateError, match="already applied"):
        plans.cancel_plan(done)


def test_with_counts_counts_every_status_and_scene_in_one_query(django_assert_num_queries):
    plan = a_plan((1, [change(), change(proposed="B")]), (2, [change(), change(proposed="C")]))
    set_status(plan, APPROVED, scene_id=1)
    set_status(plan, FAILED, scene_id=2, proposed_value="C")
    with django_assert_num_queries(1):
        row = AnalysisPlan.objects.with_counts().get(pk=plan.pk)
    assert (row.total_count, row.scene_count, row.pending_count, row.approved_count, row.failed_count) == (
        4,
        2,
        1,
        2,
        1,
    )


# --- pages -------------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_login(client, user):
    plan = a_plan((1, [change()]))
    for url in ["/plans/", f"/plans/{plan.pk}/", "/plans/?status=draft"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next="), url
    for url in [f"/plans/{plan.pk}/review/", f"/plans/{plan.pk}/cancel/", f"/plans/{plan.pk}/apply/"]:
        response = client.post(url, {"scope": "plan", "status": "approved"})
        assert response.status_code == 302 and response["Location"].startswith("/login/?next="), url
    assert plan.changes.get().status == PENDING and not Job.objects.exists()


def test_a_change_failed_on_a_lookalike_offers_the_existing_entity_on_the_page(client, user):
    plan = plans.finish_plan(a_plan((1, [change(proposed="Hug_AI")])))
    lookalike = {"kind": "tag", "name": "Hug_AI", "existing": "Hug AI"}
    failed = plan.changes.get()
    PlanChange.objects.filter(pk=failed.pk).update(
        status="failed", error="Stash already has tag 'Hug AI'", outcome={"lookalike": lookalike}
    )
    client.force_login(user)
    html = client.get(f"/plans/{plan.pk}/").content.decode()
    assert f'action="/plans/changes/{failed.pk}/use-existing/"' in html and "Use tag 'Hug AI'" in html
    response = client.post(f"/plans/changes/{failed.pk}/use-existing/")
    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.status, failed.proposed_value, failed.error, failed.outcome) == (PENDING, "Hug AI", "", {})
    assert client.post(f"/plans/changes/{failed.pk}/use-existing/").status_code == 409  # no longer failed


def test_review_posts_need_the_csrf_token(user):
    plan = a_plan((1, [change()]))
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post(f"/plans/{plan.pk}/review/", {"scope": "plan", "status": "approved"}).status_code == 403
    assert plan.changes.get().status == PENDING
    html = strict.get(f"/plans/{plan.pk}/").content.decode()
    assert html.count('name="csrfmiddlewaretoken"') >= 8


def test_the_list_shows_counts_per_status_in_a_fixed_number_of_queries(browser, django_assert_num_queries):
    for n in range(3):
        plan = a_plan((1, [change(), change(proposed="B")]), (2, [change()]), name=f"Plan {n}")
        set_status(plan, APPROVED, scene_id=2)
    plan.changes.filter(proposed_value="B").update(status=REJECTED)
    # Session, user, count, the page with its counts, the health banner's failing checks (every page).
    with django_assert_num_queries(5):
        response = browser.get("/plans/")
    html = response.content.decode()
    row = re.search(rf'<tr data-plan="{plan.pk}"[^>]*>(.*?)</tr>', html, re.S).group(1)
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', row))
    assert counts == {
        "scenes": "2",
        "total": "3",
        "pending": "1",
        "approved": "1",
        "rejected": "1",
        "applied": "0",
        "failed": "0",
    }
    for _ in range(5):
        a_plan((3, [change()]))
    with django_assert_num_queries(5):
        browser.get("/plans/")


def test_the_list_filters_by_status_and_pages(browser):
    for n in range(27):
        a_plan(name=f"Plan {n:02d}")
    cancelled = a_plan(name="Gone")
    plans.cancel_plan(cancelled)
    html = browser.get("/plans/?status=cancelled").content.decode()
    assert re.findall(r'<tr data-plan="(\d+)"', html) == [str(cancelled.pk)]
    first = browser.get("/plans/").content.decode()
    assert len(re.findall(r'<tr data-plan="', first)) == 25 and "Page 1 of 2" in first
    second = browser.get("/plans/?page=2").content.decode()
    assert len(re.findall(r'<tr data-plan="', second)) == 3
    assert browser.get("/plans/?status=bogus").status_code == 200  # an unknown filter shows everything


def test_the_detail_groups_changes_by_scene_with_readable_values(browser, django_assert_num_queries):
    mirror_scene(5, "Beach day", "/data/beach/day.mp4")
    mirror_scene(6, "", "/data/misc/untitled clip.mp4")
    plan = a_plan(
        (
            5,
            [
                change("tags", "add", "Kiss_AI", current=["Outdoor", "Sunset"]),
                change("tags", "remove", None, current=["AI_TagMe"]),
                change("markers", "add", {"seconds": 83.4, "title": "Kiss_AI", "tags": ["Kiss_AI", "Hug_AI"]}),
                change("markers", "remove", None, current={"id": 12, "seconds": 3725, "title": "Old"}),
            ],
        ),
        (6, [change("studio", "set", "Harbor Films", confidence=0.75), change("title", "set", "A better title")]),
        (9, [change("details", "set", "Plain text")]),
    )
    # Session, user, plan with counts, scene count, scene page, scenes, their primary files, changes, and the
    # health banner's failing checks (every page).
    with django_assert_num_queries(9):
        response = browser.get(f"/plans/{plan.pk}/")
    html = response.content.decode()
    sections = re.findall(r'<section class="card plan-scene" data-scene="(\d+)"', html)
    assert sections == ["5", "6", "9"]
    five = html[html.index('data-scene="5"') : html.index('data-scene="6"')]
    assert "Beach day" in five and "/data/beach/day.mp4" in five
    assert '<span class="tag">Outdoor</span><span class="tag">Sunset</span>' in five
    assert '<span class="tag">+ Kiss_AI</span>' in five and '<span class="tag">− AI_TagMe</span>' in five
    assert "01:23 → Kiss_AI (+Hug_AI)" in five
    assert "1:02:05 → Old #12" in five and "Remove this marker" in five
    six = html[html.index('data-scene="6"') : html.index('data-scene="9"')]
    assert "untitled clip.mp4" in six and "Harbor Films" in six and "75%" in six and "A better title" in six
    assert 'Scene 9 <span class="muted">(not in the mirror)</span>' in html
    assert "7 on 3 scenes" in html and "7 pending" in html


def test_the_detail_pages_scenes_and_filters_changes_by_status(browser):
    plan = a_plan(*[(pk, [change()]) for pk in range(1, 26)])
    set_status(plan, APPROVED, scene_id=3)
    html = browser.get(f"/plans/{plan.pk}/").content.decode()
    assert len(re.findall(r'class="card plan-scene"', html)) == 20 and "Page 1 of 2" in html
    html = browser.get(f"/plans/{plan.pk}/?status=approved").content.decode()
    assert re.findall(r'class="card plan-scene" data-scene="(\d+)"', html) == ["3"]


def test_review_buttons_change_statuses(browser):
    plan = a_plan(
        (1, [change(confidence=0.95), change(proposed="B", confidence=0.4)]),
        (2, [change(confidence=0.5), change("title", "set", "T", confidence=0.5)]),
    )
    one = plan.changes.order_by("id").first()
    url = f"/plans/{plan.pk}/review/?status=pending&page=1"
    response = browser.post(url, {"scope": "change", "change_id": one.pk, "status": "rejected"})
    assert response.status_code == 302 and response["Location"] == f"/plans/{plan.pk}/?status=pending&page=1"
    one.refresh_from_db()
    assert one.status == REJECTED
    browser.post(f"/plans/{plan.pk}/review/", {"scope": "scene", "scene_id": "2", "status": "approved"})
    assert set(plan.changes.filter(scene_id=2).values_list("status", flat=True)) == {APPROVED}
    browser.post(f"/plans/{plan.pk}/review/", {"scope": "confidence", "threshold": "0.3", "status": "approved"})
    assert plan.changes.get(proposed_value="B").status == APPROVED
    browser.post(f"/plans/{plan.pk}/review/", {"scope": "field", "field": "title", "status": "pending"})
    assert plan.changes.get(field="title").status == PENDING
    response = browser.post(f"/plans/{plan.pk}/review/", {"scope": "plan", "status": "rejected"}, follow=True)
    assert "1 change rejected." in response.content.decode()
    plan.refresh_from_db()
    assert plan.status == PlanStatus.REVIEWING


def test_bad_review_input_answers_400_and_a_closed_plan_409(browser):
    plan = a_plan((1, [change()]))
    for data, message in [
        ({"scope": "plan", "status": "rejcet"}, "Unknown review status &#x27;rejcet&#x27;"),
        ({"scope": "everything", "status": "rejected"}, "Unknown review scope"),
        ({"scope": "confidence", "threshold": "high", "status": "approved"}, "must be a number"),
        ({"scope": "field", "field": "rating", "status": "approved"}, "Unknown field"),
    ]:
        response = browser.post(f"/plans/{plan.pk}/review/", data)
        assert response.status_code == 400, data
        assert message in response.content.decode(), data
    assert plan.changes.get().status == PENDING
    plans.cancel_plan(plan)
    response = browser.post(f"/plans/{plan.pk}/review/", {"scope": "plan", "status": "approved"})
    assert response.status_code == 409 and f"Plan {plan.pk} is cancelled" in response.content.decode()
    assert "Apply approved changes" not in response.content.decode()  # a closed plan offers no actions


def test_editing_a_pending_change_on_the_page(browser):
    plan = a_plan((1, [change(), change("title", "set", "Old")]))
    tag, title = plan.changes.order_by("id")
    browser.post(f"/plans/changes/{title.pk}/edit/", {"value": "A title, typed as text"})
    browser.post(f"/plans/changes/{tag.pk}/edit/", {"value": '["A_AI", "B_AI"]'})
    title.refresh_from_db()
    tag.refresh_from_db()
    assert (title.proposed_value, tag.proposed_value) == ("A title, typed as text", ["A_AI", "B_AI"])
    response = browser.post(f"/plans/changes/{tag.pk}/edit/", {"value": "not json"})
    assert response.status_code == 400 and "must be JSON" in response.content.decode()


def test_cancel_button_cancels_once(browser):
    plan = a_plan((1, [change()]))
    assert browser.post(f"/plans/{plan.pk}/cancel/").status_code == 302
    plan.refresh_from_db()
    assert plan.status == PlanStatus.CANCELLED
    assert browser.post(f"/plans/{plan.pk}/cancel/").status_code == 409


def test_apply_button_creates_an_apply_plan_job(browser):
    plan = a_plan((1, [change()]), (2, [change()]))
    set_status(plan, APPROVED)
    response = browser.post(f"/plans/{plan.pk}/apply/", {"create_missing": "on"})
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert job.type == "apply_plan" and job.status == JobStatus.PENDING
    assert job.parameters == {
        "plan_id": plan.pk,
        "auto_approve": False,
        "change_ids": [],
        "scene_ids": [],
        "create_missing": True,
    }
    # A second apply while the first is queued is refused.
    response = browser.post(f"/plans/{plan.pk}/apply/")
    assert response.status_code == 409 and f"already being applied by job {job.pk}" in response.content.decode()
    Job.objects.update(status=JobStatus.COMPLETED)
    browser.post(f"/plans/{plan.pk}/apply/", {"scene_id": "2", "auto_approve": "on"})
    latest = Job.objects.order_by("-created_at").first()
    assert latest.parameters["scene_ids"] == [2] and latest.parameters["auto_approve"] is True


def test_apply_button_refuses_when_there_is_nothing_to_apply_or_the_plan_is_closed(browser):
    plan = a_plan((1, [change()]))
    response = browser.post(f"/plans/{plan.pk}/apply/")
    assert response.status_code == 409 and "Nothing to apply: no approved changes" in response.content.decode()
    assert browser.post(f"/plans/{plan.pk}/apply/", {"scene_id": "x1"}).status_code == 400
    plans.cancel_plan(plan)
    response = browser.post(f"/plans/{plan.pk}/apply/", {"auto_approve": "on"})
    assert response.status_code == 409 and "is cancelled" in response.content.decode()
    assert not Job.objects.exists()
    assert browser.post("/plans/999999/apply/").status_code == 404


def test_the_nav_links_to_plans(browser):
    html = browser.get("/plans/").content.decode()
    assert '<a href="/plans/" aria-current="page">Plans</a>' in html


# --- API ---------------------------------------------------------------------------------------------


@pytest.fixture
def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_needs_a_login(user):
    plan = a_plan((1, [change()]))
    anonymous = APIClient()
    assert anonymous.get("/api/plans/").status_code == 401
    assert anonymous.post(f"/api/plans/{plan.pk}/review/", {"status": "approved"}).status_code == 401


def test_api_lists_plans_with_counts_and_filters_by_status(api):
    plan = a_plan((1, [change(), change(proposed="B")]), (2, [change()]))
    set_status(plan, APPROVED, scene_id=2)
    a_plan(name="Other")
    body = api.get("/api/plans/").json()
    assert body["count"] == 2
    row = next(p for p in body["results"] if p["id"] == plan.pk)
    assert row["counts"] == {
        "total": 3,
        "scenes": 2,
        "pending": 2,
        "approved": 1,
        "rejected": 0,
        "applied": 0,
        "failed": 0,
    }
    assert api.get("/api/plans/?status=reviewing").json()["count"] == 0
    response = api.get("/api/plans/?status=bogus")
    assert response.status_code == 400 and "Unknown status" in response.json()["status"][0]


def test_api_detail_groups_changes_by_scene(api):
    mirror_scene(5, "Beach day", "/data/beach/day.mp4")
    plan = a_plan((5, [change(), change("title", "set", "T")]), (9, [change()]))
    body = api.get(f"/api/plans/{plan.pk}/").json()
    assert [(g["scene_id"], g["scene_title"], g["scene_path"], g["in_mirror"]) for g in body["scenes"]] == [
        (5, "Beach day", "/data/beach/day.mp4", True),
        (9, "", "", False),
    ]
    assert [c["field"] for c in body["scenes"][0]["changes"]] == ["tags", "title"]
    only = api.get(f"/api/plans/{plan.pk}/?scene_id=9").json()
    assert [g["scene_id"] for g in only["scenes"]] == [9]
    assert api.get("/api/plans/999999/").status_code == 404
    assert api.get(f"/api/plans/{plan.pk}/?status=nope").status_code == 400


def test_api_review_bulk_per_scene_field_and_confidence(api):
    plan = a_plan((1, [change(confidence=0.9), change("title", "set", "T", confidence=0.3)]), (2, [change()]))
    url = f"/api/plans/{plan.pk}/review/"
    response = api.post(url, {"status": "approved", "min_confidence": 0.5, "scene_id": 1}, format="json")
    assert response.status_code == 200 and response.json()["updated"] == 1
    assert response.json()["plan"]["status"] == "reviewing"
    assert api.post(url, {"status": "rejected", "field": "title"}, format="json").json()["updated"] == 1
    assert api.post(url, {"status": "approved"}, format="json").json()["updated"] == 1  # scene 2's
    for body, field in [
        ({"status": "reject_everything"}, "Unknown review status"),
        ({"status": "approved", "field": "rating"}, "Unknown field"),
        ({"status": "approved", "min_confidence": 2}, "threshold"),
    ]:
        response = api.post(url, body, format="json")
        assert response.status_code == 400 and field in response.json()["detail"], body
    assert api.post(url, {}, format="json").status_code == 400


def test_api_change_status_and_value(api):
    plan = a_plan((1, [change()]))
    item = plan.changes.get()
    url = f"/api/plan-changes/{item.pk}/"
    assert api.get(url).json()["proposed_value"] == "Kiss_AI"
    response = api.patch(url, {"proposed_value": ["A_AI"], "status": "approved"}, format="json")
    assert response.status_code == 200
    assert (response.json()["proposed_value"], response.json()["status"]) == (["A_AI"], "approved")
    response = api.patch(url, {"proposed_value": "B_AI"}, format="json")
    assert response.status_code == 409 and "only a pending change can be edited" in response.json()["detail"]
    assert api.patch(url, {"status": "bogus"}, format="json").status_code == 400
    assert api.patch(url, {}, format="json").status_code == 400
    set_status(plan, APPLIED)
    response = api.patch(url, {"status": "rejected"}, format="json")
    assert response.status_code == 409 and "already applied" in response.json()["detail"]
    assert api.get("/api/plan-changes/999999/").status_code == 404


def test_api_cancel(api):
    plan = a_plan((1, [change()]))
    response = api.post(f"/api/plans/{plan.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    response = api.post(f"/api/plans/{plan.pk}/cancel/")
    assert response.status_code == 409 and "is cancelled" in response.json()["detail"]


def test_api_creates_apply_plan_jobs_through_the_jobs_endpoint(api):
    plan = a_plan((1, [change()]))
    response = api.post("/api/jobs/", {"type": "apply_plan", "parameters": {"plan_id": plan.pk}}, format="json")
    assert response.status_code == 201, response.json()
    assert Job.objects.get().parameters["plan_id"] == plan.pk
    response = api.post("/api/jobs/", {"type": "apply_plan", "parameters": {"auto_approve": True}}, format="json")
    assert response.status_code == 400 and "plan_id" in str(response.json())


# --- admin -------------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, user):
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    return client


def test_admin_lists_plans_with_counts_and_filters_changes(admin_client):
    plan = a_plan((1, [change(), change(proposed="B")]), name="Admin plan")
    set_status(plan, FAILED, proposed_value="B")
    html = admin_client.get("/admin/stash/analysisplan/").content.decode()
    assert "Admin plan" in html and '<td class="field-failed_count">1</td>' in html
    assert admin_client.get(f"/admin/stash/analysisplan/{plan.pk}/change/").status_code == 200
    failed = admin_client.get("/admin/stash/planchange/?status__exact=failed").content.decode()
    assert failed.count('class="field-scene_id"') == 1
    assert admin_client.get("/admin/stash/planchange/?q=abc").status_code == 200
    response = admin_client.post(
        "/admin/stash/analysisplan/", {"action": "cancel_plans", "_selected_action": [plan.pk]}, follow=True
    )
    assert "Cancelled 1 plan." in response.content.decode()
    plan.refresh_from_db()
    assert plan.status == PlanStatus.CANCELLED
