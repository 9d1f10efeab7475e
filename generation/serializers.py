from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from rest_framework import serializers

from core.api import StrictJSONField
from core.errors import DomainError
from generation.models import CandidateModel, GenerationJob
from labeling import access


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


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


def _checked_base_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise serializers.ValidationError("must be an http:// or https:// URL with a host")
    if parts.username or parts.password or parts.query or parts.fragment:
        # Credentials go in the environment variable named by api_key_env, never in the URL.
        raise serializers.ValidationError("must not carry credentials, a query or a fragment")
    return value


class CandidateModelSerializer(serializers.ModelSerializer[CandidateModel]):
    default_decoding = StrictJSONField(required=False)
    # Not required: the model's defaults (4 requests at a time, 60 s, 5 retries) apply.
    max_concurrency = serializers.IntegerField(min_value=1, max_value=256, required=False)
    requests_per_minute = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    tokens_per_minute = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    timeout_s = serializers.FloatField(min_value=0.1, max_value=3600, required=False)
    max_retries = serializers.IntegerField(min_value=0, max_value=20, required=False)

    class Meta:
        model = CandidateModel
        fields = [
            "id",
            "name",
            "backend",
            "path",
            "revision",
            "default_decoding",
            "base_url",
            "api_model",
            "endpoint",
            "api_key_env",
            "max_concurrency",
            "requests_per_minute",
            "tokens_per_minute",
            "timeout_s",
            "max_retries",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {
            "path": {
                "help_text": "A folder or .gguf file on the workers; empty unless you are staff"
            }
        }

    def validate_default_decoding(self, value: Any) -> dict[str, Any]:
        return _checked_decoding(value)

    def to_representation(self, instance: CandidateModel) -> dict[str, Any]:
        # A path names a file on the workers: staff see it, everyone else an empty string.
        data: dict[str, Any] = super().to_representation(instance)
        request = self.context.get("request")
        if request is None or not access.can_create_campaigns(request.user):
            data["path"] = ""
        return data

    def validate_api_key_env(self, value: str) -> str:
        if value and not _ENV_NAME.match(value):
            raise serializers.ValidationError(
                "the NAME of an environment variable (letters, digits, _), not the key itself"
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        backend = attrs.get("backend")
        local = (CandidateModel.Backend.TRANSFORMERS, CandidateModel.Backend.VLLM)
        if backend in local and not attrs.get("path"):
            raise serializers.ValidationError({"path": f"a {backend} model needs a local path"})
        if backend == CandidateModel.Backend.OPENAI:
            errors: dict[str, Any] = {}
            try:
                _checked_base_url(attrs.get("base_url", ""))
            except serializers.ValidationError as exc:
                errors["base_url"] = exc.detail
            if not attrs.get("api_model"):
                errors["api_model"] = "the model name the server knows"
            if errors:
                raise serializers.ValidationError(errors)
        elif backend in local:
            # A revision of a local model is the loader's to fill in (content hash or commit).
            attrs["revision"] = ""
        return attrs


class ConnectionCheckSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    detail = serializers.CharField()
    server_model = serializers.CharField(allow_null=True)
    latency_ms = serializers.FloatField(allow_null=True)


class JobStartSerializer(serializers.Serializer[Any]):
    model = serializers.PrimaryKeyRelatedField(queryset=CandidateModel.objects.all())
    params = StrictJSONField(
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
