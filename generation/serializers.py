from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.errors import DomainError
from generation.models import CandidateModel, GenerationJob


def _checked_decoding(value: Any) -> dict[str, Any]:
    """Decoding defaults, with errors named by their own keys (not as job params)."""
    from generation.services import decoding_params

    if not isinstance(value, dict):
        raise serializers.ValidationError("must be an object")
    try:
        decoding_params(value)
    except DomainError as exc:
        raise serializers.ValidationError(
            {key.removeprefix("params."): reasons for key, reasons in exc.errors.items()}
        ) from exc
    return value


class CandidateModelSerializer(serializers.ModelSerializer[CandidateModel]):
    class Meta:
        model = CandidateModel
        fields = ["id", "name", "backend", "path", "revision", "default_decoding", "created_at"]
        read_only_fields = ["id", "revision", "created_at"]

    def validate_default_decoding(self, value: Any) -> dict[str, Any]:
        return _checked_decoding(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("backend") == CandidateModel.Backend.TRANSFORMERS and not attrs.get("path"):
            raise serializers.ValidationError({"path": "a transformers model needs a local path"})
        return attrs


class JobStartSerializer(serializers.Serializer[Any]):
    model = serializers.PrimaryKeyRelatedField(queryset=CandidateModel.objects.all())
    params = serializers.JSONField(
        required=False,
        help_text="temperature, top_p, max_new_tokens, seed, samples_per_prompt; "
        "missing ones come from the model's default decoding",
    )

    def validate_params(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise serializers.ValidationError("must be an object of decoding parameters")
        return value


class JobRestartSerializer(serializers.Serializer[Any]):
    force = serializers.BooleanField(default=False)


class GenerationJobSerializer(serializers.ModelSerializer[GenerationJob]):
    model_name = serializers.CharField(source="model.name", read_only=True)
    progress = serializers.SerializerMethodField()
    eta_s = serializers.SerializerMethodField(
        help_text="Seconds left at the job's rate over all its chunks; null when not running"
    )

    class Meta:
        model = GenerationJob
        fields = [
            "id",
            "campaign",
            "model",
            "model_name",
            "params",
            "params_hash",
            "status",
            "done",
            "total",
            "progress",
            "eta_s",
            "chunks_total",
            "chunks_done",
            "device",
            "dtype",
            "tokens_per_s",
            "items_per_s",
            "error",
            "attempts",
            "heartbeat_at",
            "started_at",
            "finished_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_progress(self, obj: GenerationJob) -> float:
        return obj.done / obj.total if obj.total else 0.0

    def get_eta_s(self, obj: GenerationJob) -> float | None:
        if obj.status != GenerationJob.Status.RUNNING or not obj.items_per_s:
            return None
        return max(obj.total - obj.done, 0) / obj.items_per_s
