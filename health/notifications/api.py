"""The notifications API: notification URLs (the URL is write-only; answers carry its masked form),
"send test", and the recent outbox."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from health.notifications import validation
from health.notifications.models import Notification, NotificationTarget
from health.notifications.sender import send
from orchestrator.api import RejectUnknownFieldsMixin
from orchestrator.notify import EVENTS


def _django(check, value):
    try:
        return check(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.messages) from None


class TargetSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    url = serializers.CharField(write_only=True, help_text="The Apprise URL; never returned (see masked_url).")
    events = serializers.ListField(child=serializers.ChoiceField(list(EVENTS)), help_text=", ".join(EVENTS))

    class Meta:
        model = NotificationTarget
        fields = [
            "id",
            "name",
            "url",
            "masked_url",
            "service",
            "events",
            "enabled",
            "created_at",
            "updated_at",
            "last_sent_at",
            "last_error",
            "last_error_at",
        ]
        read_only_fields = [
            "masked_url",
            "service",
            "created_at",
            "updated_at",
            "last_sent_at",
            "last_error",
            "last_error_at",
        ]

    def validate_name(self, value):
        return _django(validation.clean_name, value)

    def validate_url(self, value):
        url, parsed = _django(validation.clean_url, value)
        self._parsed = parsed
        return url

    def validate_events(self, value):
        return _django(validation.clean_events, value)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if "url" in attrs:
            attrs.update(
                service=self._parsed.service, masked_url=self._parsed.masked, last_error="", last_error_at=None
            )
        return attrs


class TargetList(generics.ListCreateAPIView):
    queryset = NotificationTarget.objects.all()
    serializer_class = TargetSerializer
    pagination_class = None


class TargetDetail(generics.RetrieveUpdateDestroyAPIView):
    queryset = NotificationTarget.objects.all()
    serializer_class = TargetSerializer


class TargetTest(APIView):
    @extend_schema(request=None, responses={200: dict, 502: dict})
    def post(self, request, pk: int):
        target = generics.get_object_or_404(NotificationTarget, pk=pk)
        failure = send(target.url, "Test from Stash Orchestrator", "If you can read this, notifications work.")
        if failure:
            return Response({"sent": False, "error": failure}, status=502)
        return Response({"sent": True})


class OutboxSerializer(serializers.ModelSerializer):
    target = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "target",
            "kind",
            "subject",
            "title",
            "body",
            "link",
            "status",
            "attempts",
            "next_attempt_at",
            "created_at",
            "sent_at",
            "error",
            "reported_suppressed",
        ]


class Outbox(generics.ListAPIView):
    queryset = Notification.objects.order_by("-id")
    serializer_class = OutboxSerializer
