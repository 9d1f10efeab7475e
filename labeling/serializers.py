from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from labeling.models import Annotation, Assignment, Campaign, Item, Membership, Prompt


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


class NextResponseSerializer(serializers.Serializer[Any]):
    assignment = AssignmentSerializer(allow_null=True)
    progress = serializers.DictField(child=serializers.IntegerField())


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
