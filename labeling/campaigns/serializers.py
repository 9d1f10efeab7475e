from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from core.api import CleanJSONField, StrictJSONField, page_of
from labeling.models import (
    BlurMode,
    Campaign,
    ConsensusMethod,
    Item,
    Membership,
    Prompt,
    QueueStrategy,
)


class CampaignSerializer(serializers.ModelSerializer[Campaign]):
    rubric = CleanJSONField(source="rubric.schema", read_only=True)
    role = serializers.SerializerMethodField()
    hazard_categories = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Prompt categories annotators may opt out of (labeling/care)",
    )
    private_annotators = serializers.SerializerMethodField(
        help_text="Under private_restricted, the members besides admins who may be leased items "
        "of private prompts (user ids). Shown to campaign admins; others get an empty list."
    )

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
            "private_restricted",
            "private_annotators",
            "skip_limit_per_hour",
            "content_warning",
            "blur_outputs",
            "blur_threshold",
            "daily_item_limit",
            "daily_minute_limit",
            "break_every_minutes",
            "hazard_categories",
            "role",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_role(self, obj: Campaign) -> str | None:
        roles: dict[int, str] = self.context.get("roles", {})
        return roles.get(obj.pk)

    def get_private_annotators(self, obj: Campaign) -> list[int]:
        if self.get_role(obj) != Membership.Role.ADMIN:
            return []
        private: dict[int, list[int]] = self.context.get("private_annotators", {})
        return private.get(obj.pk, [])


class CampaignWriteSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)
    instructions = serializers.CharField(allow_blank=True, required=False, max_length=100_000)
    rubric = StrictJSONField(required=False, help_text="Omit for the default rubric")
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
    private_annotators = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        allow_null=True,
        required=False,
        max_length=10_000,
        help_text="Members (user ids, annotators or admins) who besides the admins may be "
        "leased items of private prompts; null lets every annotator have them (the default)",
    )
    skip_limit_per_hour = serializers.IntegerField(
        min_value=1, max_value=10_000, required=False, help_text="skips per annotator per hour"
    )
    # Care for the people who read harmful text (labeling/care).
    content_warning = serializers.CharField(
        allow_blank=True,
        required=False,
        max_length=20_000,
        help_text="Markdown shown once to each annotator before their first item; empty: none",
    )
    blur_outputs = serializers.ChoiceField(
        choices=BlurMode.choices,
        required=False,
        help_text="Blur outputs until revealed: off, likely_harmful (the harm classifier's "
        "probability at least blur_threshold, or not scored yet), or all",
    )
    blur_threshold = serializers.FloatField(min_value=0, max_value=1, required=False)
    daily_item_limit = serializers.IntegerField(
        min_value=0,
        max_value=100_000,
        required=False,
        help_text="items per annotator per day; 0: none",
    )
    daily_minute_limit = serializers.IntegerField(
        min_value=0,
        max_value=24 * 60,
        required=False,
        help_text="minutes per annotator per day; 0: none",
    )
    break_every_minutes = serializers.IntegerField(
        min_value=0, max_value=24 * 60, required=False, help_text="break reminder interval; 0: none"
    )
    hazard_categories = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        max_length=100,
        help_text="Prompt categories annotators may opt out of; empty: no opting out",
    )

    def validate_hazard_categories(self, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("a category is listed twice")
        return value

    def validate_private_annotators(self, value: list[int] | None) -> list[int] | None:
        if value is not None and len(set(value)) != len(value):
            raise serializers.ValidationError("a user is listed twice")
        return value


class CampaignUpdateSerializer(CampaignWriteSerializer):
    name = serializers.CharField(max_length=200, required=False)
    status = serializers.ChoiceField(choices=Campaign.Status.choices, required=False)


class MembershipSerializer(serializers.ModelSerializer[Membership]):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["user", "username", "role", "private_access", "created_at"]
        read_only_fields = ["username", "private_access", "created_at"]


class MembershipWriteSerializer(serializers.Serializer[Any]):
    # A CharField first (it refuses NUL characters, which no database lookup survives), then the
    # user: validated_data["username"] is the User.
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Membership.Role.choices)

    def validate_username(self, value: str) -> Any:
        user = get_user_model().objects.filter(username=value).first()
        if user is None:
            raise serializers.ValidationError(f"no user named {value!r}")
        return user


class PromptSerializer(serializers.ModelSerializer[Prompt]):
    reference = CleanJSONField(read_only=True)

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
    provenance = CleanJSONField(read_only=True)

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
    import_id = serializers.IntegerField(help_text="The PromptImport that wrote the rows")


CampaignPageSerializer = page_of(CampaignSerializer, "CampaignPage")
PromptPageSerializer = page_of(PromptSerializer, "PromptPage")
ItemPageSerializer = page_of(ItemAdminSerializer, "ItemPage")


class RefitStatusSerializer(serializers.Serializer[Any]):
    waiting = serializers.BooleanField(help_text="A refit is requested and not started yet")
    running = serializers.BooleanField()
    requested_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    last_at = serializers.DateTimeField(allow_null=True, help_text="When the last refit ended")
    last_s = serializers.FloatField(allow_null=True, help_text="How long it took")
    last_error = serializers.CharField(allow_blank=True)


class RefreshStatusSerializer(serializers.Serializer[Any]):
    waiting = serializers.BooleanField(help_text="A score refresh is queued and not done yet")
    stale = serializers.BooleanField(help_text="Consensus changed since the last refresh")
    requested_at = serializers.DateTimeField(allow_null=True)
    last_at = serializers.DateTimeField(allow_null=True, help_text="When the scores were computed")
    last_s = serializers.FloatField(allow_null=True)


class QueueStatusSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(help_text="The Celery queue refits and refreshes run on")
    ahead = serializers.IntegerField(
        help_text="Other campaigns' refits and refreshes requested earlier, not started yet"
    )
    waiting_in_broker = serializers.IntegerField(
        allow_null=True,
        help_text="Messages in the queue no worker has taken yet; null when not counted",
    )


class AnalyticsStatusSerializer(serializers.Serializer[Any]):
    checked_at = serializers.DateTimeField()
    refit = RefitStatusSerializer()
    scores = RefreshStatusSerializer()
    queue = QueueStatusSerializer()
