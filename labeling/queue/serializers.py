from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from core.api import StrictJSONField, page_of
from labeling.care.selectors import is_sensitive
from labeling.care.serializers import CareStatusSerializer
from labeling.models import (
    Annotation,
    Assignment,
)


class LeaseItemSerializer(serializers.Serializer[Any]):
    """What an annotator sees: the prompt and the output, never the model or others' labels."""

    id = serializers.IntegerField()
    prompt = serializers.CharField(source="prompt.text")
    text = serializers.CharField()
    sensitive = serializers.SerializerMethodField(
        help_text="Show the output blurred until revealed (the campaign's blur setting and the "
        "harm classifier's rating), unless the annotator turned blur off for themselves"
    )

    def get_sensitive(self, item: Any) -> bool:
        return is_sensitive(item.campaign, item.harm_probability)


class AssignmentSerializer(serializers.ModelSerializer[Assignment]):
    item = LeaseItemSerializer()

    class Meta:
        model = Assignment
        fields = ["id", "item", "status", "leased_at", "expires_at"]
        read_only_fields = fields


class SkipResultSerializer(serializers.Serializer[Any]):
    """What skip answers: the assignment and its new status (the item is no longer yours)."""

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Assignment.Status.choices)


def _iso(value: datetime) -> str:
    """A datetime as DRF's DateTimeField writes it (current time zone, ISO 8601, "Z" for UTC)."""
    text = value.astimezone(timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def lease_data(assignment: Assignment) -> dict[str, Any]:
    """AssignmentSerializer's output, built directly: `next` runs on every item, and a
    ModelSerializer rebuilds its fields from the model on each call (tested to match)."""
    item = assignment.item
    return {
        "id": assignment.pk,
        "item": {
            "id": item.pk,
            "prompt": item.prompt.text,
            "text": item.text,
            "sensitive": is_sensitive(assignment.campaign, item.harm_probability),
        },
        "status": assignment.status,
        "leased_at": _iso(assignment.leased_at),
        "expires_at": _iso(assignment.expires_at),
    }


def annotation_data(annotation: Annotation) -> dict[str, Any]:
    """AnnotationSerializer's output, built directly (see lease_data)."""
    return {
        "id": annotation.pk,
        "item": annotation.item_id,
        "assignment": annotation.assignment_id,
        "values": annotation.values,
        "time_spent_ms": annotation.time_spent_ms,
        "created_at": _iso(annotation.created_at),
    }


class GenerationProgressSerializer(serializers.Serializer[Any]):
    done = serializers.IntegerField(help_text="Outputs generated so far by the live jobs")
    total = serializers.IntegerField(help_text="Outputs the live jobs will generate")
    jobs = serializers.IntegerField(help_text="Generation jobs queued or running")


class MyProgressSerializer(serializers.Serializer[Any]):
    done = serializers.IntegerField()
    available = serializers.IntegerField(
        help_text="Items left for you, the one you hold included (a lower bound when capped)"
    )
    available_capped = serializers.BooleanField(
        help_text="True when `next` stopped counting open items at 1,000: at least "
        "`available` are left. `my-progress` always counts them all."
    )
    generating = GenerationProgressSerializer(
        allow_null=True,
        help_text="Outputs still being generated (when nothing is left to label, or the "
        "campaign is generating); null when no generation job is queued or running",
    )


class NextResponseSerializer(serializers.Serializer[Any]):
    assignment = AssignmentSerializer(allow_null=True)
    upcoming = AssignmentSerializer(allow_null=True)
    progress = MyProgressSerializer()
    care = CareStatusSerializer(
        allow_null=True,
        help_text="The annotator's care state (content warning, daily limits, break reminder); "
        "null in campaigns that use none of it",
    )


class SubmitSerializer(serializers.Serializer[Any]):
    values = StrictJSONField()
    time_spent_ms = serializers.IntegerField(min_value=0, max_value=86_400_000, required=False)
    client_started_at = serializers.DateTimeField(required=False)
    client_submitted_at = serializers.DateTimeField(required=False)


class SkipSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        max_length=500, required=False, allow_blank=True, help_text="Why (optional)"
    )


class EditSerializer(serializers.Serializer[Any]):
    values = StrictJSONField()
    time_spent_ms = serializers.IntegerField(min_value=0, max_value=86_400_000, required=False)


class HistoryEntrySerializer(serializers.Serializer[Any]):
    """One of the caller's recent items: what they answered (or that they skipped it)."""

    id = serializers.IntegerField(help_text="The assignment")
    status = serializers.ChoiceField(choices=Assignment.Status.choices)
    finished_at = serializers.DateTimeField(allow_null=True)
    skip_reason = serializers.CharField(allow_blank=True)
    item = LeaseItemSerializer()
    values = StrictJSONField(allow_null=True, help_text="The current values (null if skipped)")
    revisions = serializers.IntegerField(help_text="Earlier versions kept after edits")


class HistorySerializer(serializers.Serializer[Any]):
    results = HistoryEntrySerializer(many=True)


class AnnotationSerializer(serializers.ModelSerializer[Annotation]):
    class Meta:
        model = Annotation
        fields = ["id", "item", "assignment", "values", "time_spent_ms", "created_at"]
        read_only_fields = fields


class PrivateExposureSerializer(serializers.Serializer[Any]):
    """One lease of an item of a private prompt: who was shown which prompt, and when."""

    id = serializers.IntegerField()
    shown_at = serializers.DateTimeField()
    annotator = serializers.IntegerField(source="annotator_id")
    username = serializers.CharField(source="annotator__username")
    prompt = serializers.IntegerField(source="prompt_id")
    prompt_external_id = serializers.CharField(source="prompt__external_id")
    item = serializers.IntegerField(source="item_id")


PrivateExposurePageSerializer = page_of(PrivateExposureSerializer, "PrivateExposurePage")
