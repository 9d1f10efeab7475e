from __future__ import annotations

from typing import Any

from rest_framework import serializers

from generation.models import CandidateModel, GenerationJob


class CandidateModelSerializer(serializers.ModelSerializer[CandidateModel]):
    class Meta:
        model = CandidateModel
        fields = ["id", "name", "backend", "path", "revision", "default_decoding", "created_at"]
        read_only_fields = ["id", "revision", "created_at"]

    def validate_default_decoding(self, value: Any) -> dict[str, Any]:
        from generation.services import decoding_params

        if not isinstance(value, dict):
            raise serializers.ValidationError("must be an object")
        decoding_params(value)
        return value

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


class JobRestartSerializer(serializers.Serializer[Any]):
    force = serializers.BooleanField(default=False)


class GenerationJobSerializer(serializers.ModelSerializer[GenerationJob]):
    model_name = serializers.CharField(source="model.name", read_only=True)
    progress = serializers.SerializerMethodField()

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
