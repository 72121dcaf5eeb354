"""Applying plans end to end: a real `runjobs` worker process, the Stash emulator over HTTP, the database
the test sees. Stash's side is read from the emulator's store; sceneUpdate calls are counted per scene."""

from collections import Counter

import pytest

from jobs.models import Job, JobStatus
from jobs.services import create_job
from stash.emulator import executor, resolvers
from stash.models import Scene
from stash.plans import add_changes, create_plan
from stash.plans.models import AnalysisPlan, ChangeStatus, PlanChange, PlanStatus
from tests.conftest import free_port, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker(stash_emulator, proc_env, processes):
    return processes.manage("runjobs", "--concurrency", "2", env={**proc_env, "STASH_URL": stash_emulator.url})


@pytest.fixture
def updates(monkeypatch):
    """sceneUpdate calls per scene id, counted in the emulator."""
    calls = Counter()
    original = resolvers.ROOT[("mutation", "sceneUpdate")]

    def counting(ctx, input):
        calls[int(input["id"])] += 1
        return original(ctx, input)

    monkeypatch.setitem(resolvers.ROOT, ("mutation", "sceneUpdate"), counting)
    return calls


@pytest.fixture
def store(stash_emulator):
    return stash_emulator.store


def apply(plan, timeout=60, **params) -> Job:
    job = create_job("apply_plan", {"plan_id": plan.pk, **params})
    wait_for(lambda: Job.objects.filter(pk=job.pk, finished_at__isnull=False).exists(), timeout, message="the job")
    job.refresh_from_db()
    return job


def approved_plan(scene_id: int, *changes: dict, name="Test plan") -> AnalysisPlan:
    plan = create_plan(name)
    add_changes(plan, scene_id, list(changes))
    plan.changes.update(status=ChangeStatus.APPROVED)
    return plan


def change(field, action, proposed=None, current=None, confidence=0.9) -> dict:
    return {
        "field": field,
        "action": action,
        "current_value": current,
        "proposed_value": proposed,
        "confidence": confidence,
    }


def names(store, kind, ids) -> set[str]:
    table = store.table(kind)
    return {table[i].name for i in ids}


def statuses(plan) -> dict[str, int]:
    return Counter(plan.changes.values_list("status", flat=True))


def a_scene(store, **edits):
    """A seeded scene with at least one tag, edited "in Stash" to the given values."""
    scene = next(s for s in store.scenes.values() if s.tag_ids and not s.marker_ids)
    if edits:
        store.update("scene", scene.id, **edits)
    return scene


# --- fields ------------------------------------------------------------------------------------------


def test_all_field_changes_of_a_scene_go_in_one_scene_update(store, worker, updates):
    scene = a_scene(store, performer_ids=[])
    old_tag = store.tags[scene.tag_ids[0]].name
    kept = list(scene.tag_ids[1:])
    store.create("tag", name="Kiss_AI")
    performer = store.create("performer", name="Noa Wells")
    studio = store.create("studio", name="Harbor Films")
    before = scene.updated_at
    store.set_clock(advance_seconds=60)
    plan = approved_plan(
        scene.id,
        change("tags", "add", "kiss_ai"),  # case differs from Stash's name
        change("tags", "remove", None, current=[old_tag]),
        change("performers", "add", ["Noa Wells"]),
        change("studio", "set", "HARBOR FILMS"),
        change("title", "set", "A new title"),
        change("details", "set", "Plain text details"),
    )
    job = apply(plan)
    assert job.status == JobStatus.COMPLETED, job.error
    assert updates[scene.id] == 1
    assert names(store, "tag", scene.tag_ids) == names(store, "tag", kept) | {"Kiss_AI"}
    assert scene.performer_ids == [performer.id] and scene.studio_id == studio.id
    assert (scene.title, scene.details) == ("A new title", "Plain text details")
    assert scene.updated_at != before
    assert statuses(plan) == {ChangeStatus.APPLIED: 6}
    assert not plan.changes.filter(applied_at__isnull=True).exists()
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPLIED and plan.applied_at
    assert job.result["plan_status"] == "applied"
    assert (job.result["applied"], job.result["failed"], job.result["scenes"]) == (6, 0, 1)
    # The mirror was refreshed from Stash for the scene.
    assert Scene.objects.get(pk=scene.id).title == "A new title"


def test_tags_added_in_stash_meanwhile_are_kept(store, worker, updates):
    scene = a_scene(store)
    wanted = store.create("tag", name="Sunset_AI")
    plan = approved_plan(scene.id, change("tags", "add", "Sunset_AI"))
    meanwhile = store.create("tag", name="Added by someone")
    store.update("scene", scene.id, tag_ids=[*scene.tag_ids, meanwhile.id])
    expected = {*scene.tag_ids, wanted.id}
    job = apply(plan)
    assert job.status == JobStatus.COMPLETED, job.error
    assert set(scene.tag_ids) == expected and meanwhile.id in scene.tag_ids
    assert updates[scene.id] == 1


def test_a_change_that_is_already_true_needs_no_scene_update(store, worker, updates):
    scene = a_scene(store)
    present = store.tags[scene.tag_ids[0]].name
    plan = approved_plan(scene.id, change("tags", "add", present.upper()), change("tags", "remove", "Not on it"))
    job = apply(plan)
    assert job.status == JobStatus.COMPLETED, job.error
    assert updates[scene.id] == 0
    assert statuses(plan) == {ChangeStatus.APPLIED: 2}


def test_wildcard_characters_in_names_match_only_the_exact_name(store, worker, updates):
    scene = a_scene(store)
    lookalike = store.create("tag", name="KissXAI")  # LIKE 'Kiss_AI' matches it
    store.create("tag", name="100 Percent")  # LIKE '100%' matches it
    plan = approved_plan(scene.id, change("tags", "add", "Kiss_AI"), change("tags", "add", "100%"))
    tags_before = len(store.tags)
    job = apply(plan)
    assert job.status == JobStatus.COMPLETED, job.error
    assert lookalike.id not in scene.tag_ids
    assert len(store.tags) == tags_before and updates[scene.id] == 0
    errors = dict(plan.changes.values_list("proposed_value", "error"))
    assert "Tag 'Kiss_AI' does not exist in Stash" in errors["Kiss_AI"]
    assert "Tag '100%' does not exist in Stash" in errors["100%"]
    assert statuses(plan) == {ChangeStatus.FAILED: 2}
    # With the exact tag present too, that one is chosen.
    exact = store.create("tag", name="Kiss_AI")
    plan.changes.update(status=ChangeStatus.APPROVED)
    plan.status = PlanStatus.REVIEWING
    plan.save()
    apply(plan, change_ids=list(plan.changes.filter(proposed_value="Kiss_AI").values_list("pk", flat=True)))
    assert exact.id in scene.tag_ids and lookalike.id not in scene.tag_ids


def test_missing_entities_fail_with_the_reason_and_nothing_is_created(store, worker, updates):
    scene = a_scene(store)
    counts = (len(store.tags), len(store.performers), len(store.studios))
    plan = approved_plan(
        scene.id,
        change("tags", "add", "Brand new tag"),
        change("performers", "add", "Brand New Person"),
        change("studio", "set", "Brand New Studio"),
        change("markers", "add", {"seconds": 12.0, "tags": ["Brand new marker tag"]}),
    )
    job = apply(plan)
    assert job.status == JobStatus.COMPLETED, job.error
    assert (len(store.tags), len(store.performers), len(store.studios)) == counts
    assert updates[scene.id] == 0 and not scene.marker_ids
    errors = sorted(plan.changes.values_list("error", flat=True))
    assert all("does not exist in Stash" in e and "create_missing" in e for e in errors), errors
    assert job.result["failed"] == 4
    plan.refresh_from_db()
    assert plan.status == PlanStatus.REVIEWING  # failed changes close nothing


def test_create_missing_creates_each_entity_once_across_scenes(store, worker, updates):
    first, second = [s for s in store.scenes.values() if not s.marker_ids][:2]
    plan = create_plan("Two scenes")
    for scene in (first, second):
        add_changes(
            plan,
            scene.id,
            [
                change("tags", "add", "Fresh_AI"),
                change("performers", "add", "Fresh Face"),
                change("studio", "set", "Fresh Studio"),
            ],
        )
    plan.changes.update(status=ChangeStatus.APPROVED)
    job = apply(plan, create_missing=True)
    assert job.status == JobStatus.COMPLETED, job.error
    assert [t.name for t in store.tags.values()].count("Fresh_AI") == 1
    assert [p.name for p in store.performers.values()].count("Fresh Face") == 1
    assert [s.name for s in store.studios.values()].count("Fresh Studio") == 1
    tag = next(t for t in store.tags.values() if t.name == "Fresh_AI")
    assert tag.id in first.tag_ids and tag.id in second.tag_ids
    assert first.studio_id == second.studio_id
    assert job.result["entities_created"] == 3 and job.result["scenes"] == 2
    assert updates == {first.id: 1, second.id: 1}


def test_a_name_stash_refuses_as_a_lookalike_fails_naming_the_existing_tag_then_can_use_it(store):
    from stash.connection.config import get_client
    from stash.plans import use_existing_name
    from stash.plans.apply import ApplyOptions, apply_plan

    scene = a_scene(store)
    existing = store.create("tag", name="Hug AI")
    plan = approved_plan(scene.id, change("tags", "add", "Hug_AI"))
    tags_before = len(store.tags)
    apply_plan(get_client(), plan.pk, ApplyOptions(create_missing=True))
    failed = plan.changes.get()
    assert failed.status == ChangeStatus.FAILED
    assert failed.error.startswith(
        "Stash already has tag 'Hug AI', which its name check treats as the same as 'Hug_AI'"
    )
    assert failed.outcome == {"lookalike": {"kind": "tag", "name": "Hug_AI", "existing": "Hug AI"}}
    assert len(store.tags) == tags_before and existing.id not in scene.tag_ids
    pending = use_existing_name(failed)
    assert (pending.status, pending.proposed_value, pending.error, pending.outcome) == (
        ChangeStatus.PENDING,
        "Hug AI",
        "",
        {},
    )
    plan.changes.update(status=ChangeStatus.APPROVED)
    apply_plan(get_client(), plan.pk, ApplyOptions(create_missing=True))
    assert plan.changes.get().status == ChangeStatus.APPLIED
    assert existing.id in scene.tag_ids and len(store.tags) == tags_before


@pytest.mark.parametrize(
    ("kind", "field", "proposed"),
    [("tag", "tags", "Hug_AI"), ("tag", "tags", "hug ai"), ("studio", "studio", "Big_Studio")],
)
def test_a_name_stash_refuses_through_an_alias_fails_naming_the_entity_and_its_alias(store, kind, field, proposed):
    """Issue 13 Deliver 5: Stash's create checks the new name against every alias too (LIKE): the
    failure names the entity and the alias, not Stash's own words, and offers to use the entity."""
    from stash.connection.config import get_client
    from stash.plans import use_existing_name
    from stash.plans.apply import ApplyOptions, apply_plan

    scene = a_scene(store)
    alias = "Hug AI" if kind == "tag" else "Big Studio"
    existing = store.create(kind, name="Hugging" if kind == "tag" else "Grand Films", aliases=[alias])
    plan = approved_plan(scene.id, change(field, "add" if kind == "tag" else "set", proposed))
    before = len(store.table(kind))
    apply_plan(get_client(), plan.pk, ApplyOptions(create_missing=True))
    failed = plan.changes.get()
    assert failed.status == ChangeStatus.FAILED
    assert failed.error.startswith(
        f"Stash already has {kind} '{existing.name}' with the alias '{alias}', which its name check treats "
        f"as the same as '{proposed}'"
    ), failed.error
    assert failed.outcome == {"lookalike": {"kind": kind, "name": proposed, "existing": existing.name, "alias": alias}}
    assert len(store.table(kind)) == before
    assert use_existing_name(failed).proposed_value == existing.name
    plan.changes.update(status=ChangeStatus.APPROVED)
    apply_plan(get_client(), plan.pk, ApplyOptions(create_missing=True))
    assert plan.changes.get().status == ChangeStatus.APPLIED, plan.changes.get().error
    assert existing.id in (scene.tag_ids if kind == "tag" else [scene.studio_id])


def test_a_marker_tag_stash_refuses_as_a_lookalike_can_use_the_existing_tag(store):
    from stash.connection.config import get_client
    from stash.plans import use_existing_name
    from stash.plans.apply import ApplyOptions, apply_plan

    scene = a_scene(store)
    store.create("tag", name="Hug AI")
    plan = approved_plan(scene.id, change("markers", "add", {"seconds": 12.0, "tags": ["Hug_AI"]}))
    apply_plan(get_client(), plan.pk, ApplyOptions(create_missing=True))
    failed = plan.changes.get()
    assert failed.status == ChangeStatus.FAILED and "Stash already has tag 'Hug AI'" in failed.error
    assert use_existing_name(failed).proposed_value == {"seconds": 12.0, "tags": ["Hug AI"]}


# --- markers -----------------------------------------------------------------------------------------


def test_a_marker_is_created_once_even_when_the_apply_is_repeated(store, worker, updates):
    scene = a_scene(store)
    store.create("tag", name="Kiss_AI")
    store.create("tag", name="Other_AI")
    before = scene.updated_at
    proposed = {"seconds": 83.0, "end_seconds": 90.5, "title": "Kiss_AI", "tags": ["Kiss_AI", "Other_AI"]}
    plan = approved_plan(scene.id, change("markers", "add", proposed))
    job = apply(plan)
    assert job.status == JobStatus.COMPLETED, job.error
    assert len(scene.marker_ids) == 1
    marker = store.markers[scene.marker_ids[0]]
    assert (marker.seconds, marker.end_seconds, marker.title) == (83.0, 90.5, "Kiss_AI")
    assert names(store, "tag", [marker.primary_tag_id]) == {"Kiss_AI"}
    assert names(store, "tag", marker.tag_ids) == {"Other_AI"}
    assert scene.updated_at == before and updates[scene.id] == 0  # marker edits do not touch the scene
    recorded = plan.changes.get()
    assert recorded.outcome == {"marker_id": marker.id}

    # A crash after Stash answered but before our commit: the change is approved again. Its recorded
    # outcome finds the marker; without it, the same second and primary tag do.
    for outcome in (recorded.outcome, {}):
        plan.changes.update(status=ChangeStatus.APPROVED, outcome=outcome, applied_at=None)
        AnalysisPlan.objects.filter(pk=plan.pk).update(status=PlanStatus.REVIEWING)
        again = apply(plan)
        assert again.status == JobStatus.COMPLETED, again.error
        assert scene.marker_ids == [marker.id]
        assert plan.changes.get().status == ChangeStatus.APPLIED
        assert plan.changes.get().outcome == {"marker_id": marker.id, "existing": True}


def test_removing_a_marker_destroys_only_that_marker_of_the_scene(store, worker):
    scene, other = [s for s in store.scenes.values() if s.tag_ids][:2]
    tag = scene.tag_ids[0]
    mine = store.create("marker", scene_id=scene.id, title="Mine", seconds=10.0, primary_tag_id=tag)
    theirs = store.create("marker", scene_id=other.id, title="Theirs", seconds=10.0, primary_tag_id=tag)
    plan = approved_plan(
        scene.id,
        change("markers", "remove", None, current={"id": mine.id, "seconds": 10.0, "title": "Mine"}),
        change("markers", "remove", None, current={"id": theirs.id, "seconds": 10.0}),  # not this scene's
    )
    job = apply(plan)
    assert job.status == JobStatus.COMPLETED, job.error
    assert mine.id not in store.markers and theirs.id in store.markers
    outcomes = sorted(plan.changes.values_list("outcome", flat=True), key=lambda o: o["removed_marker_id"])
    assert [o.get("already_gone", False) for o in outcomes] == [mine.id > theirs.id, mine.id < theirs.id]


# --- what can go wrong -------------------------------------------------------------------------------


def test_a_scene_deleted_in_stash_fails_its_changes_with_the_reason(store, worker, updates):
    gone, kept = [s for s in store.scenes.values() if s.tag_ids][:2]
    store.create("tag", name="Fine_AI")
    plan = create_plan("Deleted scene")
    add_changes(plan, gone.id, [change("title", "set", "Never"), change("tags", "add", "Fine_AI")])
    add_changes(plan, kept.id, [change("title", "set", "Applied")])
    plan.changes.update(status=ChangeStatus.APPROVED)
    store.delete("scene", gone.id)
    job = apply(plan)
    assert job.status == JobStatus.COMPLETED, job.error
    failed = plan.changes.filter(scene_id=gone.id)
    assert set(failed.values_list("status", "error")) == {
        (ChangeStatus.FAILED, f"Scene {gone.id} no longer exists in Stash")
    }
    assert kept.title == "Applied" and updates == {kept.id: 1}
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPLIED  # nothing approved or pending is left, one change applied


def test_an_applied_plan_refuses_a_second_apply(store, worker, updates):
    scene = a_scene(store)
    plan = approved_plan(scene.id, change("title", "set", "Once"))
    assert apply(plan).status == JobStatus.COMPLETED
    second = apply(plan)
    assert second.status == JobStatus.FAILED
    assert f"Plan {plan.pk} is already applied" in second.error
    assert updates[scene.id] == 1


def test_stash_failing_mid_apply_fails_the_job_and_keeps_what_was_applied(store, worker, updates, monkeypatch):
    scenes = [s for s in store.scenes.values() if s.tag_ids][:3]
    plan = create_plan("Interrupted")
    for scene in scenes:
        add_changes(plan, scene.id, [change("title", "set", f"New {scene.id}"), change("details", "set", "x")])
    plan.changes.update(status=ChangeStatus.APPROVED)
    answer = executor.execute

    def failing_after_first_update(*args, **kwargs):
        if updates:  # Stash breaks down once the first scene was updated
            raise RuntimeError("Stash is down")  # the emulator answers HTTP 500
        return answer(*args, **kwargs)

    monkeypatch.setattr(executor, "execute", failing_after_first_update)
    job = apply(plan)
    assert job.status == JobStatus.FAILED
    assert "Stash failed while applying scene" in job.error and "1 of 3 scenes done" in job.error
    assert "HTTP 500" in job.error
    first = scenes[0]
    assert set(plan.changes.filter(scene_id=first.id).values_list("status", flat=True)) == {ChangeStatus.APPLIED}
    assert set(plan.changes.exclude(scene_id=first.id).values_list("status", flat=True)) == {ChangeStatus.APPROVED}
    assert first.title == f"New {first.id}" and scenes[1].title != f"New {scenes[1].id}"
    plan.refresh_from_db()
    assert plan.status == PlanStatus.REVIEWING

    monkeypatch.setattr(executor, "execute", answer)  # Stash is back: a retry finishes the rest
    retried = apply(plan)
    assert retried.status == JobStatus.COMPLETED, retried.error
    assert retried.result["applied"] == 4 and updates[first.id] == 1
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPLIED


def test_an_unreachable_stash_fails_the_job_and_changes_stay_approved(stash_emulator, proc_env, processes):
    scene = a_scene(stash_emulator.store)
    plan = approved_plan(scene.id, change("title", "set", "Never"))
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    processes.manage("runjobs", env={**proc_env, "STASH_URL": url})
    job = apply(plan)
    assert job.status == JobStatus.FAILED
    assert url in job.error and "0 of 1 scenes done" in job.error
    assert statuses(plan) == {ChangeStatus.APPROVED: 1}
    plan.refresh_from_db()
    assert plan.status == PlanStatus.REVIEWING and not plan.applied_at


# --- selection ---------------------------------------------------------------------------------------


def test_only_approved_changes_apply_unless_auto_approve(store, worker):
    scene = a_scene(store)
    plan = create_plan("Mixed")
    add_changes(plan, scene.id, [change("title", "set", "Approved"), change("details", "set", "Pending")])
    title, details = plan.changes.order_by("id")
    PlanChange.objects.filter(pk=title.pk).update(status=ChangeStatus.APPROVED)
    job = apply(plan)
    assert job.status == JobStatus.COMPLETED, job.error
    assert scene.title == "Approved" and scene.details != "Pending"
    details.refresh_from_db()
    assert details.status == ChangeStatus.PENDING
    job = apply(plan, auto_approve=True)
    assert job.status == JobStatus.COMPLETED, job.error
    assert scene.details == "Pending"
    details.refresh_from_db()
    assert details.status == ChangeStatus.APPLIED


def test_change_ids_and_scene_ids_restrict_what_is_applied(store, worker, updates):
    first, second = [s for s in store.scenes.values() if s.tag_ids][:2]
    plan = create_plan("Selected")
    add_changes(plan, first.id, [change("title", "set", "First title"), change("details", "set", "First details")])
    add_changes(plan, second.id, [change("title", "set", "Second title")])
    plan.changes.update(status=ChangeStatus.APPROVED)
    title = plan.changes.get(scene_id=first.id, field="title")
    job = apply(plan, scene_ids=[first.id], change_ids=[title.pk])
    assert job.status == JobStatus.COMPLETED, job.error
    assert first.title == "First title" and first.details != "First details"
    assert second.title != "Second title" and second.id not in updates
    assert job.result["applied"] == 1
    foreign = apply(plan, change_ids=[title.pk, 999_999])
    assert foreign.status == JobStatus.FAILED and "999999 are not part of plan" in foreign.error


def test_cancellation_is_checked_between_scenes_and_progress_counts_scenes(store):
    from jobs.context import JobCancelled
    from stash.connection.config import get_client
    from stash.plans.apply import apply_plan

    scenes = [s for s in store.scenes.values() if s.tag_ids][:3]
    plan = create_plan("Cancelled half-way")
    for scene in scenes:
        add_changes(plan, scene.id, [change("title", "set", f"New {scene.id}")])
    plan.changes.update(status=ChangeStatus.APPROVED)
    progress = []

    def check_cancelled():
        if len(progress) > 2:  # the start and two scenes reported
            raise JobCancelled("Cancelled by request")

    with pytest.raises(JobCancelled):
        apply_plan(
            get_client(), plan.pk, progress=lambda *a, **k: progress.append((a, k)), check_cancelled=check_cancelled
        )
    assert [a[1] for a, _ in progress] == ["Applying 3 changes to 3 scenes", "Applied 1/3 scenes", "Applied 2/3 scenes"]
    assert [k["processed"] for _, k in progress] == [0, 1, 2]
    assert list(plan.changes.order_by("scene_id").values_list("status", flat=True)) == [
        ChangeStatus.APPLIED,
        ChangeStatus.APPLIED,
        ChangeStatus.APPROVED,
    ]
    assert scenes[2].title != f"New {scenes[2].id}"


def test_a_plan_cancelled_during_the_apply_stops_it(store):
    from stash.connection.config import get_client
    from stash.plans import PlanStateError, cancel_plan
    from stash.plans.apply import apply_plan

    scenes = [s for s in store.scenes.values() if s.tag_ids][:2]
    plan = create_plan("Cancelled by a reviewer")
    for scene in scenes:
        add_changes(plan, scene.id, [change("title", "set", "Changed")])
    plan.changes.update(status=ChangeStatus.APPROVED)

    def cancel_after_first_scene(percent, message, **counts):
        if counts.get("processed") == 1:
            cancel_plan(plan)

    with pytest.raises(PlanStateError, match=f"Plan {plan.pk} was cancelled while being applied; 1 of 2"):
        apply_plan(get_client(), plan.pk, progress=cancel_after_first_scene)
    assert statuses(plan) == {ChangeStatus.APPLIED: 1, ChangeStatus.APPROVED: 1}
    plan.refresh_from_db()
    assert plan.status == PlanStatus.CANCELLED
