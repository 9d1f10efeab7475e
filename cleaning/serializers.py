from __future__ import annotations

from typing import Any

from rest_framework import serializers

from cleaning.models import CleaningJob, CleaningShard
from core.api import CleanJSONField, StrictJSONField


class _NoUnknownFields(serializers.Serializer):
    """A field the API does not know is refused, never silently ignored."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        data = getattr(self, "initial_data", None)
        if data is not None and hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({unknown[0]: ["unknown field"]})
        return attrs


class ClassifierChoiceSerializer(_NoUnknownFields):
    version = serializers.IntegerField(min_value=1)
    threshold = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.5)


class _ChoiceList(StrictJSONField):
    """A list of {version, threshold}, as JSON or (in a multipart upload) a JSON string."""

    many = True

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if value is None and not self.many:
            return None
        items = value if self.many else [value]
        if not isinstance(items, list):
            raise serializers.ValidationError("must be a list of {version, threshold}")
        out, errors = [], {}
        for n, item in enumerate(items):
            ser = ClassifierChoiceSerializer(data=item)
            if not isinstance(item, dict) or not ser.is_valid():
                errors[f"[{n}]" if self.many else ""] = (
                    ser.errors if isinstance(item, dict) else ["must be an object"]
                )
                continue
            out.append(dict(ser.validated_data))
        if errors:
            raise serializers.ValidationError(errors if self.many else errors[""])
        return out if self.many else out[0]


class _OneChoice(_ChoiceList):
    many = False


class CleaningJobCreateSerializer(_NoUnknownFields):
    name = serializers.CharField(max_length=200, required=False, default="")
    path = serializers.CharField(
        max_length=1000,
        required=False,
        help_text="A file or Hugging Face datasets folder under the workers' cleaning root "
        "(ASSAY_CLEANING_ROOT); or upload `file` instead",
    )
    file = serializers.FileField(required=False, help_text="JSONL (.gz) or Parquet")
    text_field = serializers.CharField(max_length=200)
    id_field = serializers.CharField(max_length=200)
    document_classifiers = _ChoiceList(
        required=False,
        default=list,  # type: ignore[arg-type]
        help_text="[{version, threshold}]: remove at or above",
    )
    tagger = _OneChoice(
        required=False, allow_null=True, default=None, help_text="{version, threshold}: mask"
    )
    mask_mode = serializers.ChoiceField(choices=CleaningJob.MaskMode.choices, default="replace")
    replacement = serializers.CharField(
        max_length=200, required=False, default="[REDACTED:{label}]", allow_blank=True
    )
    shard_size = serializers.IntegerField(min_value=10, max_value=1_000_000, required=False)
    precision = serializers.ChoiceField(
        choices=CleaningJob.Precision.choices,
        default="fp32",
        help_text="int8: transformer classifiers score with int8 Linear layers on CPU workers "
        "(about 2.5x faster; probabilities a few thousandths off fp32). No effect on others.",
    )
    start = serializers.BooleanField(
        default=True, help_text="false: score a sample first (preview), then POST start"
    )


class CleaningJobStartSerializer(_NoUnknownFields):
    thresholds = StrictJSONField(
        required=False, default=dict, help_text="{classifier name or 'tagger': threshold}"
    )

    def validate_thresholds(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise serializers.ValidationError("must be an object of name: threshold")
        return value


class CleaningShardSerializer(serializers.ModelSerializer[CleaningShard]):
    total = serializers.IntegerField(read_only=True)

    class Meta:
        model = CleaningShard
        fields = [
            "id",
            "index",
            "start",
            "end",
            "total",
            "done",
            "status",
            "attempts",
            "worker",
            "error",
            "heartbeat_at",
            "started_at",
            "finished_at",
        ]


class CleaningJobSerializer(serializers.ModelSerializer[CleaningJob]):
    document_classifiers = CleanJSONField(read_only=True)
    tagger = CleanJSONField(read_only=True, allow_null=True)
    done_docs = serializers.IntegerField(source="live_done", read_only=True)

    class Meta:
        model = CleaningJob
        fields = [
            "id",
            "name",
            "status",
            "input_format",
            "input_sha256",
            "input_bytes",
            "uploaded",
            "text_field",
            "id_field",
            "document_classifiers",
            "tagger",
            "mask_mode",
            "replacement",
            "queue",
            "precision",
            "shard_size",
            "total_docs",
            "done_docs",
            "shards_total",
            "shards_done",
            "audit_campaign_id",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]


class CleaningJobDetailSerializer(CleaningJobSerializer):
    shards = CleaningShardSerializer(many=True, read_only=True)
    preview = CleanJSONField(read_only=True, allow_null=True)
    report = CleanJSONField(read_only=True, allow_null=True)
    datasheet = CleanJSONField(read_only=True, allow_null=True)

    class Meta(CleaningJobSerializer.Meta):
        fields = [*CleaningJobSerializer.Meta.fields, "shards", "preview", "report", "datasheet"]


class UsableVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    target = serializers.CharField()
    kind = serializers.CharField(source="run.kind")
    backend = serializers.CharField(source="run.backend")
    classes = serializers.ListField(child=serializers.CharField(), source="run.classes")
    is_active = serializers.BooleanField()
    campaign_id = serializers.IntegerField()
    campaign_name = serializers.CharField(source="campaign.name")


class OutputFileSerializer(serializers.Serializer):
    path = serializers.CharField()
    bytes = serializers.IntegerField()


class AuditOpenSerializer(_NoUnknownFields):
    removed = serializers.IntegerField(min_value=0, max_value=5000, default=50)
    masked = serializers.IntegerField(min_value=0, max_value=5000, default=50)
    kept = serializers.IntegerField(min_value=0, max_value=5000, default=100)
    overlap = serializers.IntegerField(min_value=1, max_value=10, default=3)
    context_chars = serializers.IntegerField(min_value=20, max_value=5000, default=300)
    seed = serializers.IntegerField(min_value=0, default=0)


class AuditResultSerializer(serializers.Serializer):
    campaign_id = serializers.IntegerField()
    labeled = serializers.DictField(child=serializers.IntegerField())
    sampled = serializers.DictField(child=serializers.IntegerField())
    removal_precision = CleanJSONField()
    masking_precision = CleanJSONField()
    residual_harm_rate = CleanJSONField()
    sweep = CleanJSONField()
    method = serializers.CharField()
