"""The plans API (DRF): list and read plans, review their changes, cancel them.

Views translate HTTP to stash.plans and back: bad input is 400 with the reason, a state that forbids the
request (an applied change, a closed plan) is 409. Applying is a job: POST /api/jobs/ with
{"type": "apply_plan", "parameters": {"plan_id": …}}.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator.api import Conflict, Paging
from stash import plans
from stash.models import Scene, SceneFile
from stash.plans import PlanError, PlanStateError
from stash.plans.models import AnalysisPlan, ChangeStatus, PlanChange, PlanStatus

COUNTED = ChangeStatus.values


def _call(action, *args, **kwargs):
    """Run a stash.plans call, turning its errors into 400 (bad input) or 409 (wrong state)."""
    try:
        return action(*args, **kwargs)
    except PlanStateError as exc:
        raise Conflict(str(exc)) from exc
    except PlanError as exc:
        raise ValidationError({"detail": str(exc)}) from exc


def _plan(pk) -> AnalysisPlan:
    plan = AnalysisPlan.objects.with_counts().filter(pk=pk).first()
    if plan is None:
        raise NotFound("Plan not found.")
    return plan


# --- serializers ---------------------------------------------------------------------------------------


class ChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlanChange
        fields = [
            "id",
            "plan_id",
            "scene_id",
            "field",
            "action",
            "current_value",
            "proposed_value",
            "confidence",
            "status",
            "error",
            "outcome",
            "created_at",
            "updated_at",
            "applied_at",
        ]


class PlanSerializer(serializers.ModelSerializer):
    counts = serializers.SerializerMethodField()

    class Meta:
        model = AnalysisPlan
        fields = [
            "id",
            "name",
            "description",
            "status",
            "source_job_id",
            "metadata",
            "counts",
            "created_at",
            "updated_at",
            "applied_at",
        ]

    @extend_schema_field(
        inline_serializer("PlanCounts", {name: serializers.IntegerField() for name in ["total", "scenes", *COUNTED]})
    )
    def get_counts(self, plan) -> dict:
        counts = {name: getattr(plan, f"{name}_count", 0) for name in COUNTED}
        return {"total": plan.total_count, "scenes": plan.scene_count, **counts}


class SceneGroupSerializer(serializers.Serializer):
    """The plan detail's changes of one scene (the shape the plan page shows)."""

    scene_id = serializers.IntegerField(allow_null=True)
    scene_title = serializers.CharField(help_text="The mirrored scene's title (empty if not in the mirror).")
    scene_path = serializers.CharField(help_text="Its primary file's path.")
    in_mirror = serializers.BooleanField()
    changes = ChangeSerializer(many=True)


class PlanDetailSerializer(PlanSerializer):
    scenes = SceneGroupSerializer(many=True, read_only=True, help_text="The changes grouped by scene.")

    class Meta(PlanSerializer.Meta):
        fields = [*PlanSerializer.Meta.fields, "scenes"]


class ReviewSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="approved, rejected or pending (undo a decision).")
    scene_id = serializers.IntegerField(required=False, help_text="Only this scene's changes.")
    field = serializers.CharField(required=False, help_text="Only changes of this field (tags, markers, ...).")
    min_confidence = serializers.FloatField(required=False, help_text="Only changes at least this confident (0-1).")


class ChangeUpdateSerializer(serializers.Serializer):
    status = serializers.CharField(required=False, help_text="approved, rejected or pending.")
    proposed_value = serializers.JSONField(
        required=False, allow_null=True, help_text="A new value (pending changes only)."
    )


# --- views ---------------------------------------------------------------------------------------------


class PlanList(generics.ListAPIView):
    serializer_class = PlanSerializer
    pagination_class = Paging

    @extend_schema(
        summary="Plans, newest first, with per-status change counts",
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=PlanStatus.values)],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        plans_qs = AnalysisPlan.objects.with_counts().order_by("-created_at", "-id")
        wanted = self.request.query_params.get("status")
        if wanted is not None:
            if wanted not in PlanStatus.values:
                raise ValidationError({"status": [f"Unknown status; use one of: {', '.join(PlanStatus.values)}."]})
            plans_qs = plans_qs.filter(status=wanted)
        return plans_qs


class PlanDetail(APIView):
    @extend_schema(
        summary="A plan, plus `scenes`: its changes grouped by scene, [{scene_id, scene_title, scene_path, "
        "in_mirror, changes}] (?status= and ?scene_id= narrow the changes)",
        responses=PlanDetailSerializer,
    )
    def get(self, request, pk):
        plan = _plan(pk)
        changes = PlanChange.objects.filter(plan=plan).order_by("scene_id", "id")
        wanted = request.query_params.get("status")
        if wanted is not None:
            if wanted not in ChangeStatus.values:
                raise ValidationError({"status": [f"Unknown status; use one of: {', '.join(ChangeStatus.values)}."]})
            changes = changes.filter(status=wanted)
        scene = request.query_params.get("scene_id")
        if scene is not None:
            if not scene.isdigit():
                raise ValidationError({"scene_id": ["Must be an integer."]})
            changes = changes.filter(scene_id=int(scene))
        return Response({**PlanSerializer(plan).data, "scenes": _grouped(list(changes))})


def _grouped(changes: list[PlanChange]) -> list[dict]:
    ids = sorted({c.scene_id for c in changes if c.scene_id is not None})
    titles = dict(Scene.objects.filter(pk__in=ids).values_list("id", "title"))
    paths = dict(SceneFile.objects.filter(scene_id__in=ids, position=0).values_list("scene_id", "path"))
    groups: dict = {}
    for change in changes:
        group = groups.setdefault(
            change.scene_id,
            {
                "scene_id": change.scene_id,
                "scene_title": titles.get(change.scene_id, ""),
                "scene_path": paths.get(change.scene_id, ""),
                "in_mirror": change.scene_id in titles,
                "changes": [],
            },
        )
        group["changes"].append(ChangeSerializer(change).data)
    return list(groups.values())


class PlanReview(APIView):
    @extend_schema(
        summary="Approve or reject the undecided changes of a plan (or reset decided ones to pending), "
        "optionally only one scene's, one field's or those above a confidence",
        request=ReviewSerializer,
        responses={200: inline_serializer("PlanReviewed", {"updated": serializers.IntegerField()})},
    )
    def post(self, request, pk):
        plan = _plan(pk)
        incoming = ReviewSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        updated = _call(
            plans.review_where,
            plan,
            data["status"],
            scene_id=data.get("scene_id"),
            field=data.get("field"),
            min_confidence=data.get("min_confidence"),
        )
        return Response({"updated": updated, "plan": PlanSerializer(_plan(pk)).data})


class PlanCancel(APIView):
    @extend_schema(
        summary="Cancel a plan (an applied or cancelled plan answers 409)", request=None, responses=PlanSerializer
    )
    def post(self, request, pk):
        _call(plans.cancel_plan, _plan(pk))
        return Response(PlanSerializer(_plan(pk)).data)


class ChangeDetail(APIView):
    def _change(self, pk) -> PlanChange:
        change = PlanChange.objects.filter(pk=pk).first()
        if change is None:
            raise NotFound("Change not found.")
        return change

    @extend_schema(summary="One change", responses=ChangeSerializer)
    def get(self, request, pk):
        return Response(ChangeSerializer(self._change(pk)).data)

    @extend_schema(
        summary="Review a change (status) and/or edit its proposed value (pending changes only)",
        request=ChangeUpdateSerializer,
        responses=ChangeSerializer,
    )
    def patch(self, request, pk):
        change = self._change(pk)
        incoming = ChangeUpdateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        if not data:
            raise ValidationError({"detail": "Give status and/or proposed_value."})
        if "proposed_value" in request.data:
            change = _call(plans.edit_proposed_value, change, request.data["proposed_value"])
        if "status" in data:
            change = _call(plans.set_change_status, change, data["status"])
        return Response(ChangeSerializer(change).data)
