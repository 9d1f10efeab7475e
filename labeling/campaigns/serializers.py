from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework import serializers

from labeling.models import (
    Annotation,
    Assignment,
    Campaign,
    ConsensusMethod,
    Item,
    Membership,
    Prompt,
    QueueStrategy,
)

# The scores shapes live with the scores endpoints; re-exported for existing importers.
from labeling.scores.serializers import CampaignScoresSerializer as CampaignScoresSerializer
from labeling.scores.serializers import ModelScoresSerializer as ModelScoresSerializer


class CampaignSerializer(serializers.ModelSerializer[Campaign]):
    rubric = serializers.JSONField(source="rubric.schema", read_only=True)
    role = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "instructions",
            "rubric",
            "overlap",
            "gold_rate",
            "lease_minutes",
            "status",
            "consensus_method",
            "gold_min_accuracy",
            "gold_min_answers",
            "queue_strategy",
            "random_share",
            "retrain_every",
            "role",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_role(self, obj: Campaign) -> str | None:
        roles: dict[int, str] = self.context.get("roles", {})
        return roles.get(obj.pk)


class CampaignWriteSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)
    instructions = serializers.CharField(allow_blank=True, required=False, max_length=100_000)
    rubric = serializers.JSONField(required=False, help_text="Omit for the default rubric")
    overlap = serializers.IntegerField(min_value=1, max_value=50, required=False)
    gold_rate = serializers.FloatField(min_value=0, max_value=1, required=False)
    lease_minutes = serializers.IntegerField(min_value=1, max_value=24 * 60, required=False)
    consensus_method = serializers.ChoiceField(
        choices=ConsensusMethod.choices,
        required=False,
        help_text="crowd-kit method for categorical consensus (majority until DS has data)",
    )
    gold_min_accuracy = serializers.FloatField(
        min_value=0, max_value=1, required=False, help_text="pause an annotator below this"
    )
    gold_min_answers = serializers.IntegerField(
        min_value=1, max_value=1000, required=False, help_text="gold answers before any pause"
    )
    queue_strategy = serializers.ChoiceField(choices=QueueStrategy.choices, required=False)
    random_share = serializers.FloatField(
        min_value=0, max_value=1, required=False, help_text="share of random picks (uncertainty)"
    )
    retrain_every = serializers.IntegerField(
        min_value=0, max_value=1_000_000, required=False, help_text="0: retrain only by hand"
    )


class CampaignUpdateSerializer(CampaignWriteSerializer):
    name = serializers.CharField(max_length=200, required=False)
    status = serializers.ChoiceField(choices=Campaign.Status.choices, required=False)


class MembershipSerializer(serializers.ModelSerializer[Membership]):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["user", "username", "role", "created_at"]
        read_only_fields = ["username", "created_at"]


class MembershipWriteSerializer(serializers.Serializer[Any]):
    username = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.all()
    )
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class PromptSerializer(serializers.ModelSerializer[Prompt]):
    class Meta:
        model = Prompt
        fields = ["id", "external_id", "text", "category", "split", "reference", "created_at"]
        read_only_fields = fields


class PromptImportSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(required=False, help_text="JSONL or CSV file")
    content = serializers.CharField(
        required=False, trim_whitespace=False, help_text="The file's text, instead of an upload"
    )
    format = serializers.ChoiceField(
        choices=["jsonl", "csv"],
        required=False,
        help_text="Default: from the file name, else jsonl",
    )
    split = serializers.ChoiceField(
        choices=Prompt.Split.choices,
        default="public",
        help_text="Split for rows that do not name one",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("file") and not attrs.get("content"):
            raise serializers.ValidationError({"file": "send a file or its content"})
        return attrs


class ItemAdminSerializer(serializers.ModelSerializer[Item]):
    prompt_text = serializers.CharField(source="prompt.text")
    split = serializers.CharField(source="prompt.split")
    category = serializers.CharField(source="prompt.category")
    model_name = serializers.CharField(source="model.name")

    class Meta:
        model = Item
        fields = [
            "id",
            "prompt",
            "prompt_text",
            "split",
            "category",
            "model",
            "model_name",
            "job",
            "sample_index",
            "text",
            "prompt_tokens",
            "output_tokens",
            "finish_reason",
            "latency_ms",
            "provenance",
            "n_submitted",
            "open_slots",
            "created_at",
        ]
        read_only_fields = fields


class LeaseItemSerializer(serializers.Serializer[Any]):
    """What an annotator sees: the prompt and the output, never the model or others' labels."""

    id = serializers.IntegerField()
    prompt = serializers.CharField(source="prompt.text")
    text = serializers.CharField()


class AssignmentSerializer(serializers.ModelSerializer[Assignment]):
    item = LeaseItemSerializer()

    class Meta:
        model = Assignment
        fields = ["id", "item", "status", "leased_at", "expires_at"]
        read_only_fields = fields


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
        "item": {"id": item.pk, "prompt": item.prompt.text, "text": item.text},
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


class MyProgressSerializer(serializers.Serializer[Any]):
    done = serializers.IntegerField()
    available = serializers.IntegerField(
        help_text="Items left for you, the one you hold included (a lower bound when capped)"
    )
    available_capped = serializers.BooleanField(
        help_text="True when `next` stopped counting open items at 1,000: at least "
        "`available` are left. `my-progress` always counts them all."
    )


class NextResponseSerializer(serializers.Serializer[Any]):
    assignment = AssignmentSerializer(allow_null=True)
    upcoming = AssignmentSerializer(allow_null=True)
    progress = MyProgressSerializer()


def page_of(serializer: type[serializers.Serializer[Any]], name: str) -> type[Any]:
    """The schema of a limit/offset page of `serializer` rows."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer(many=True),
        },
    )


class SubmitSerializer(serializers.Serializer[Any]):
    values = serializers.JSONField()
    time_spent_ms = serializers.IntegerField(min_value=0, max_value=86_400_000, required=False)
    client_started_at = serializers.DateTimeField(required=False)
    client_submitted_at = serializers.DateTimeField(required=False)


class AnnotationSerializer(serializers.ModelSerializer[Annotation]):
    class Meta:
        model = Annotation
        fields = ["id", "item", "assignment", "values", "time_spent_ms", "created_at"]
        read_only_fields = fields


# --- response shapes (for the OpenAPI schema and the generated TypeScript types) -------------


class ProgressSerializer(serializers.Serializer[Any]):
    items = serializers.IntegerField()
    annotations = serializers.IntegerField()
    target_annotations = serializers.IntegerField()
    items_by_annotations = serializers.DictField(child=serializers.IntegerField())
    items_complete = serializers.IntegerField()


class ThroughputSerializer(serializers.Serializer[Any]):
    hour = serializers.DateTimeField()
    annotations = serializers.IntegerField()


class AnnotatorStatsSerializer(serializers.Serializer[Any]):
    annotator_id = serializers.IntegerField()
    username = serializers.CharField()
    submitted = serializers.IntegerField()
    skipped = serializers.IntegerField()
    active = serializers.IntegerField()
    skip_rate = serializers.FloatField(allow_null=True)
    median_seconds = serializers.FloatField(allow_null=True)


class DashboardSerializer(serializers.Serializer[Any]):
    progress = ProgressSerializer()
    throughput = ThroughputSerializer(many=True)
    annotators = AnnotatorStatsSerializer(many=True)


class CampaignDetailSerializer(CampaignSerializer):
    counts = serializers.DictField(child=serializers.IntegerField(), read_only=True)
    progress = ProgressSerializer(read_only=True)

    class Meta(CampaignSerializer.Meta):
        fields = [*CampaignSerializer.Meta.fields, "counts", "progress"]
        read_only_fields = fields


class ImportResultSerializer(serializers.Serializer[Any]):
    created = serializers.IntegerField()


class ImportErrorRowSerializer(serializers.Serializer[Any]):
    row = serializers.IntegerField()
    field = serializers.CharField(allow_blank=True)
    reason = serializers.CharField()


class ErrorSerializer(serializers.Serializer[Any]):
    """The body of every 4xx from a domain rule: see assay/errors.py."""

    detail = serializers.CharField()
    code = serializers.CharField()
    rows = ImportErrorRowSerializer(many=True, required=False)


# "errors" would shadow Serializer.errors as a class attribute, so it is declared this way.
ErrorSerializer._declared_fields["errors"] = serializers.DictField(
    child=serializers.ListField(child=serializers.CharField()), required=False
)


CampaignPageSerializer = page_of(CampaignSerializer, "CampaignPage")
PromptPageSerializer = page_of(PromptSerializer, "PromptPage")
ItemPageSerializer = page_of(ItemAdminSerializer, "ItemPage")
