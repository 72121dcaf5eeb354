"""Applying a plan to Stash, scene by scene.

Per scene: read it from Stash once (findScene; null means it was deleted there), merge the scene's
approved changes into Stash's *current* tag and performer lists (by id, so whatever someone added in
Stash meanwhile stays), send at most one sceneUpdate, then create or destroy its markers. Every change's
status (applied or failed, with the reason), applied_at and outcome are committed right after the Stash
mutation that carried it, so a crash or a retry never applies anything twice:
- field changes are set-like (absolute lists, merged again on a retry);
- a marker is created only if the change's recorded outcome does not name an existing marker and the
  scene has no marker at the same second (±0.01) with the same primary tag;
- tags, performers and studios are looked up by exact name, and created only when `create_missing`;
  a name Stash would refuse as a lookalike of an existing one fails, its outcome naming that entity.

A refusal from Stash (a GraphQL error) fails the changes concerned and the apply goes on; Stash not
answering stops it (ApplyInterrupted): what was applied stays applied, the rest stays approved.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from stash.connection.errors import StashError, StashGraphQLError
from stash.plans import live
from stash.plans.lookup import EntityResolver, failure_outcome, same_name
from stash.plans.models import AnalysisPlan, ChangeAction, ChangeField, ChangeStatus, PlanChange, PlanStatus
from stash.plans.review import refresh_status, refuse_closed
from stash.plans.values import ENTITY_KINDS, PlanError, PlanStateError, marker_id, marker_spec, target_names
from stash.sync.run import sync_scene_ids

MARKER_TOLERANCE = 0.01  # seconds: markers this close with the same primary tag are the same marker


def _noop(*args, **kwargs):
    return None


@dataclass(frozen=True)
class ApplyOptions:
    auto_approve: bool = False  # approve (and apply) pending changes too
    change_ids: tuple = ()  # only these changes
    scene_ids: tuple = ()  # only the changes of these scenes
    create_missing: bool = False  # create tags, performers and studios Stash does not have


class ApplyInterrupted(Exception):
    """Stash stopped answering (or failed) part-way; the message says how far the apply got."""


@dataclass
class Result:
    status: str
    error: str = ""
    outcome: dict = field(default_factory=dict)


class SceneState:
    """A scene as Stash has it now, and the values its changes are merged into."""

    def __init__(self, data: dict):
        self.id = int(data["id"])
        self.ids = {kind: [int(e["id"]) for e in data.get(f"{kind}s") or []] for kind in ("tag", "performer")}
        self.names = {kind: {int(e["id"]): e["name"] for e in data.get(f"{kind}s") or []} for kind in self.ids}
        studio = data.get("studio")
        self.studio = (int(studio["id"]), studio["name"]) if studio else None
        self.title = data.get("title") or ""
        self.details = data.get("details") or ""
        self.markers = [
            {"id": int(m["id"]), "seconds": float(m["seconds"]), "primary": (m.get("primary_tag") or {}).get("name")}
            for m in data.get("scene_markers") or []
        ]
        self._before = (
            {k: list(v) for k, v in self.ids.items()},
            self.studio[0] if self.studio else None,
            self.title,
            self.details,
        )

    def on_scene(self, kind: str, name: str) -> int | None:
        return next((i for i in self.ids[kind] if same_name(self.names[kind].get(i, ""), name)), None)

    def marker_at(self, seconds: float, primary_tag: str) -> int | None:
        for marker in self.markers:
            if abs(marker["seconds"] - seconds) <= MARKER_TOLERANCE and same_name(marker["primary"] or "", primary_tag):
                return marker["id"]
        return None

    def update_input(self) -> dict:
        """SceneUpdateInput with what differs from what Stash had ({} when nothing does)."""
        ids, studio_id, title, details = self._before
        changed = {}
        for kind, before in ids.items():
            if self.ids[kind] != before:
                changed[f"{kind}_ids"] = [str(i) for i in self.ids[kind]]
        now_studio = self.studio[0] if self.studio else None
        if now_studio != studio_id:
            changed["studio_id"] = None if now_studio is None else str(now_studio)
        if self.title != title:
            changed["title"] = self.title
        if self.details != details:
            changed["details"] = self.details
        return {"id": str(self.id), **changed} if changed else {}


class PlanApplier:
    def __init__(
        self,
        client,
        plan_id: int,
        options: ApplyOptions = ApplyOptions(),
        *,
        progress: Callable = _noop,
        check_cancelled: Callable = _noop,
    ):
        self.client = client
        self.plan_id = plan_id
        self.options = options
        self.progress = progress
        self.check_cancelled = check_cancelled
        self.resolver = EntityResolver(client, create_missing=options.create_missing)
        self.counts = {"applied": 0, "failed": 0, "skipped": 0, "scenes": 0}
        self.touched: list[int] = []

    def run(self) -> dict:
        plan = AnalysisPlan.objects.filter(pk=self.plan_id).first()
        if plan is None:
            raise PlanError(f"Plan {self.plan_id} does not exist.")
        refuse_closed(plan)
        groups = self._select(plan)
        total = len(groups)
        changes = sum(len(ids) for ids in groups.values())
        self.progress(0, f"Applying {changes} changes to {total} scenes", processed=0, total=total)
        try:
            for done, (scene_id, ids) in enumerate(groups.items()):
                self.check_cancelled()
                self._check_still_open(done, total)
                try:
                    self._apply_scene(scene_id, ids)
                except StashError as exc:
                    raise ApplyInterrupted(
                        f"Stash failed while applying scene {scene_id} ({done} of {total} scenes done; "
                        f"the rest stays approved): {exc}"
                    ) from exc
                self.progress(100 * (done + 1) / total, f"Applied {done + 1}/{total} scenes", processed=done + 1)
        finally:
            refresh_status(plan)
        result = {"plan_id": plan.pk, **self.counts, "plan_status": plan.status}
        result["entities_created"] = len(self.resolver.created)
        result.update(self._refresh_mirror())
        return result

    # --- which changes ---------------------------------------------------------------------------

    def _wanted(self) -> list[str]:
        return [ChangeStatus.APPROVED, *([ChangeStatus.PENDING] if self.options.auto_approve else [])]

    def _select(self, plan: AnalysisPlan) -> dict[int, list[int]]:
        """Change ids to apply, grouped by scene (in scene id order)."""
        changes = PlanChange.objects.filter(plan=plan, scene_id__isnull=False)
        if self.options.change_ids:
            listed = set(self.options.change_ids)
            known = set(changes.filter(pk__in=listed).values_list("pk", flat=True))
            missing = sorted(listed - known)
            if missing:
                shown = ", ".join(str(i) for i in missing[:20])
                raise PlanError(f"Change(s) {shown} are not part of plan {plan.pk}.")
            changes = changes.filter(pk__in=listed)
        if self.options.scene_ids:
            changes = changes.filter(scene_id__in=self.options.scene_ids)
        selected = list(
            changes.filter(status__in=self._wanted()).order_by("scene_id", "id").values_list("scene_id", "pk")
        )
        if self.options.change_ids:
            # Listed changes that are not approved (rejected, already applied, ...) are left alone.
            self.counts["skipped"] += changes.count() - len(selected)
        groups: dict[int, list[int]] = {}
        for scene_id, change_id in selected:
            groups.setdefault(scene_id, []).append(change_id)
        return groups

    def _check_still_open(self, done: int, total: int):
        status = AnalysisPlan.objects.filter(pk=self.plan_id).values_list("status", flat=True).first()
        if status == PlanStatus.CANCELLED or status is None:
            raise PlanStateError(
                f"Plan {self.plan_id} was {'cancelled' if status else 'deleted'} while being applied; "
                f"{done} of {total} scenes had been applied."
            )

    # --- one scene -------------------------------------------------------------------------------

    def _apply_scene(self, scene_id: int, ids: list[int]):
        if self.options.auto_approve:
            PlanChange.objects.filter(pk__in=ids, status=ChangeStatus.PENDING).update(
                status=ChangeStatus.APPROVED, updated_at=timezone.now()
            )
            live.changed(self.plan_id, ids)  # update() fires no signal
        # Re-read: a change rejected since the apply started is not applied.
        changes = list(PlanChange.objects.filter(pk__in=ids, status=ChangeStatus.APPROVED).order_by("id"))
        self.counts["skipped"] += len(ids) - len(changes)
        if not changes:
            return
        self.counts["scenes"] += 1
        self.touched.append(scene_id)
        data = self.client.execute("FindScene", {"id": str(scene_id)}).get("findScene")
        if data is None:
            gone = Result(ChangeStatus.FAILED, f"Scene {scene_id} no longer exists in Stash")
            self._record(changes, {change.pk: gone for change in changes})
            return
        state = SceneState(data)
        self._apply_fields(state, [c for c in changes if c.field != ChangeField.MARKERS])
        for change in changes:
            if change.field == ChangeField.MARKERS:
                self._apply_marker(state, change)

    def _apply_fields(self, state: SceneState, changes: list[PlanChange]):
        if not changes:
            return
        results = {}
        for change in changes:
            try:
                results[change.pk] = Result(ChangeStatus.APPLIED, outcome=self._merge(state, change))
            except (PlanError, StashGraphQLError) as exc:
                results[change.pk] = Result(ChangeStatus.FAILED, str(exc), outcome=failure_outcome(exc))
        update = state.update_input()
        if update:
            try:
                self.client.execute("SceneUpdate", {"input": update})
            except StashGraphQLError as exc:
                for result in results.values():
                    if result.status == ChangeStatus.APPLIED:
                        result.status, result.error = ChangeStatus.FAILED, f"Stash refused the scene update: {exc}"
        self._record(changes, results)

    def _merge(self, state: SceneState, change: PlanChange) -> dict:
        """Fold one change into the scene's state; returns its outcome. Raises PlanError (Unresolved)."""
        names = (
            target_names(change.field, change.action, change.current_value, change.proposed_value)
            if change.field in ENTITY_KINDS
            else []
        )
        if change.field in (ChangeField.TAGS, ChangeField.PERFORMERS):
            kind = ENTITY_KINDS[change.field]
            if change.action == ChangeAction.REMOVE:
                removed = [i for i in (state.on_scene(kind, name) for name in names) if i is not None]
                state.ids[kind] = [i for i in state.ids[kind] if i not in removed]
                return {"removed_ids": removed}
            # Resolve every name before changing anything: a change applies whole or not at all.
            resolved = []
            for name in names:
                present = state.on_scene(kind, name)
                resolved.append((present, False) if present is not None else self.resolver.resolve(kind, name))
            for (entity_id, _), name in zip(resolved, names, strict=True):
                if entity_id not in state.ids[kind]:
                    state.ids[kind].append(entity_id)
                    state.names[kind][entity_id] = name
            return {"ids": [i for i, _ in resolved], "created_ids": [i for i, created in resolved if created]}
        if change.field == ChangeField.STUDIO:
            if not names:
                state.studio = None
                return {"studio_id": None}
            if state.studio and same_name(state.studio[1], names[0]):
                return {"studio_id": state.studio[0]}
            studio_id, created = self.resolver.resolve("studio", names[0])
            state.studio = (studio_id, names[0])
            return {"studio_id": studio_id, "created_ids": [studio_id] if created else []}
        if change.field == ChangeField.TITLE:
            state.title = change.proposed_value
        else:
            state.details = change.proposed_value
        return {}

    def _apply_marker(self, state: SceneState, change: PlanChange):
        try:
            if change.action == ChangeAction.ADD:
                result = self._add_marker(state, change)
            else:
                result = self._remove_marker(state, change)
        except (PlanError, StashGraphQLError) as exc:
            result = Result(ChangeStatus.FAILED, str(exc), outcome={**change.outcome, **failure_outcome(exc)})
        self._record([change], {change.pk: result})

    def _add_marker(self, state: SceneState, change: PlanChange) -> Result:
        spec = marker_spec(change.proposed_value)
        recorded = change.outcome.get("marker_id")
        if recorded and any(m["id"] == recorded for m in state.markers):
            return Result(ChangeStatus.APPLIED, outcome={"marker_id": recorded, "existing": True})
        existing = state.marker_at(spec.seconds, spec.primary_tag)
        if existing is not None:
            return Result(ChangeStatus.APPLIED, outcome={"marker_id": existing, "existing": True})
        primary, _ = self.resolver.resolve("tag", spec.primary_tag)
        others = [self.resolver.resolve("tag", name)[0] for name in spec.other_tags]
        marker = {
            "scene_id": str(state.id),
            "title": spec.title,
            "seconds": spec.seconds,
            "primary_tag_id": str(primary),
            "tag_ids": [str(i) for i in dict.fromkeys(others) if i != primary],
        }
        if spec.end_seconds is not None:
            marker["end_seconds"] = spec.end_seconds
        created = self.client.execute("SceneMarkerCreate", {"input": marker}).get("sceneMarkerCreate") or {}
        new_id = int(created["id"])
        state.markers.append({"id": new_id, "seconds": spec.seconds, "primary": spec.primary_tag})
        return Result(ChangeStatus.APPLIED, outcome={"marker_id": new_id})

    def _remove_marker(self, state: SceneState, change: PlanChange) -> Result:
        target = marker_id(change.current_value)
        # Only a marker of this scene is destroyed; one already gone leaves nothing to do.
        if not any(m["id"] == target for m in state.markers):
            return Result(ChangeStatus.APPLIED, outcome={"removed_marker_id": target, "already_gone": True})
        self.client.execute("SceneMarkerDestroy", {"id": str(target)})
        state.markers = [m for m in state.markers if m["id"] != target]
        return Result(ChangeStatus.APPLIED, outcome={"removed_marker_id": target})

    # --- recording -------------------------------------------------------------------------------

    def _record(self, changes: list[PlanChange], results: dict[int, Result]):
        """Commit what reaching Stash produced, right away (autocommit outside this block)."""
        now = timezone.now()
        with transaction.atomic():
            for change in changes:
                result = results[change.pk]
                applied = result.status == ChangeStatus.APPLIED
                PlanChange.objects.filter(pk=change.pk).update(
                    status=result.status,
                    error=result.error[:2000],
                    outcome=result.outcome,
                    applied_at=now if applied else None,
                    updated_at=now,
                )
                self.counts["applied" if applied else "failed"] += 1
            # update() fires no signal: one push per scene (this transaction) with its changes' rows.
            live.changed(self.plan_id, [change.pk for change in changes])

    def _refresh_mirror(self) -> dict:
        """Re-read the scenes touched into the mirror (marker edits do not bump a scene in Stash)."""
        if not self.touched:
            return {}
        try:
            report = sync_scene_ids(self.client, self.touched)
        except StashError as exc:
            return {"mirror_refresh_error": str(exc)}
        return {"mirror_scenes_synced": report.counts.get("scenes_synced", 0)}


def apply_plan(client, plan_id: int, options: ApplyOptions = ApplyOptions(), **callbacks) -> dict:
    """Apply the plan's selected changes (see the module docstring); returns the counts."""
    return PlanApplier(client, plan_id, options, **callbacks).run()


def applicable_plans(prefixes: list[str], auto_approve: bool) -> tuple[int, list[tuple[int, str, int]]]:
    """(how many plans are in draft or reviewing, [(id, name, changes to apply)] of those whose name starts
    with one of `prefixes` (all of them when there are none) and that have something to apply), oldest first.

    Something to apply: approved changes, or pending ones too with `auto_approve`."""
    wanted = [ChangeStatus.APPROVED, *([ChangeStatus.PENDING] if auto_approve else [])]
    plans = AnalysisPlan.objects.filter(status__in=[PlanStatus.DRAFT, PlanStatus.REVIEWING]).order_by("created_at")
    rows = list(
        plans.annotate(applicable=Count("changes", filter=Q(changes__status__in=wanted))).values_list(
            "id", "name", "applicable"
        )
    )
    matching = [row for row in rows if _named(row[1], prefixes)]
    return len(rows), [row for row in matching if row[2]]


def _named(name: str, prefixes: list[str]) -> bool:
    return not prefixes or any(name.startswith(p) for p in prefixes)


def plans_awaiting_review(prefixes: list[str]) -> tuple[int, int]:
    """(plans, pending changes) of the plans in draft or reviewing whose name starts with one of `prefixes`
    (all of them when there are none) and that have pending changes: what waits for a person's review
    before an applier without auto-approval has anything to apply."""
    plans = AnalysisPlan.objects.filter(status__in=[PlanStatus.DRAFT, PlanStatus.REVIEWING])
    rows = plans.annotate(pending=Count("changes", filter=Q(changes__status=ChangeStatus.PENDING))).filter(
        pending__gt=0
    )
    matching = [pending for name, pending in rows.values_list("name", "pending") if _named(name, prefixes)]
    return len(matching), sum(matching)
