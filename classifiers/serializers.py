from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from classifiers.models import (
    BACKEND_CHOICES,
    ClassifierVersion,
    Prediction,
    ScoringRequest,
    TrainingRun,
)
from core.api import StrictJSONField


class ReliabilityBinSerializer(serializers.Serializer[Any]):
    lower = serializers.FloatField()
    upper = serializers.FloatField()
    confidence = serializers.FloatField(help_text="Mean top-class probability in the bin")
    accuracy = serializers.FloatField()
    count = serializers.IntegerField()


class ScoreBinSerializer(serializers.Serializer[Any]):
    lower = serializers.FloatField()
    upper = serializers.FloatField()
    count = serializers.IntegerField()


class MetricsSerializer(serializers.Serializer[Any]):
    """On the run's evaluation slice (never trained on). A document classifier reports the
    classification figures; a span tagger the SemEval-2021 Task 5 character F1 and the rest."""

    n = serializers.IntegerField()
    classes = serializers.ListField(child=serializers.CharField())
    accuracy = serializers.FloatField(required=False)
    macro_f1 = serializers.FloatField(required=False)
    auroc = serializers.FloatField(allow_null=True, required=False)
    auprc = serializers.FloatField(allow_null=True, required=False)
    ece = serializers.FloatField(required=False, help_text="Expected calibration error, 10 bins")
    confusion_matrix = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        required=False,
        help_text="rows: true class, columns: predicted class",
    )
    reliability = ReliabilityBinSerializer(many=True, required=False)
    support = serializers.ListField(child=serializers.IntegerField(), required=False)
    char_f1 = serializers.FloatField(
        required=False,
        help_text="Span tagger: per-text F1 of predicted vs consensus character offsets "
        "(1 when both are empty), averaged over texts",
    )
    char_precision = serializers.FloatField(required=False)
    char_recall = serializers.FloatField(required=False)
    per_label_char_f1 = serializers.DictField(
        child=serializers.FloatField(allow_null=True), required=False
    )
    texts_with_gold_spans = serializers.IntegerField(required=False)
    texts_with_predicted_spans = serializers.IntegerField(required=False)
    n_predicted_spans = serializers.IntegerField(required=False)
    score_histogram = ScoreBinSerializer(
        many=True, required=False, help_text="Span tagger: predicted span scores"
    )


class VersionBriefSerializer(serializers.ModelSerializer[ClassifierVersion]):
    class Meta:
        model = ClassifierVersion
        fields = ["id", "name", "is_active", "promoted", "decision"]
        read_only_fields = fields


class TrainingRunSerializer(serializers.ModelSerializer[TrainingRun]):
    metrics = MetricsSerializer(allow_null=True, read_only=True)
    version = serializers.SerializerMethodField()

    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "target",
            "kind",
            "backend",
            "status",
            "trigger",
            "n_labels",
            "label_counts",
            "device",
            "train_seconds",
            "metrics",
            "version",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(VersionBriefSerializer(allow_null=True))
    def get_version(self, obj: TrainingRun) -> dict[str, Any] | None:
        version = getattr(obj, "version", None)
        return None if version is None else VersionBriefSerializer(version).data


class TrainingRunDetailSerializer(TrainingRunSerializer):
    n_train = serializers.SerializerMethodField()
    n_calibration = serializers.SerializerMethodField()
    n_eval = serializers.SerializerMethodField()
    baseline_metrics = serializers.SerializerMethodField()

    class Meta(TrainingRunSerializer.Meta):
        fields = [
            *TrainingRunSerializer.Meta.fields,
            "classes",
            "hyperparameters",
            "seed",
            "labels_sha256",
            "n_train",
            "n_calibration",
            "n_eval",
            "library_versions",
            "baseline_metrics",
        ]
        read_only_fields = fields

    def get_n_train(self, obj: TrainingRun) -> int:
        return len(obj.train_item_ids)

    def get_n_calibration(self, obj: TrainingRun) -> int:
        return len(obj.calibration_item_ids)

    def get_n_eval(self, obj: TrainingRun) -> int:
        return len(obj.eval_item_ids)

    @extend_schema_field(MetricsSerializer(allow_null=True))
    def get_baseline_metrics(self, obj: TrainingRun) -> dict[str, Any] | None:
        """The then-active version's metrics on this run's evaluation slice."""
        version = getattr(obj, "version", None)
        if version is None or version.baseline_metrics is None:
            return None
        return MetricsSerializer(version.baseline_metrics).data


class RunRequestSerializer(serializers.Serializer[Any]):
    target = serializers.CharField(max_length=64, help_text="A choice dimension, e.g. harm")
    backend = serializers.ChoiceField(choices=BACKEND_CHOICES)
    hyperparameters = StrictJSONField(required=False)


class ClassifierVersionSerializer(serializers.ModelSerializer[ClassifierVersion]):
    backend = serializers.CharField(source="run.backend", read_only=True)
    kind = serializers.CharField(source="run.kind", read_only=True)
    metrics = MetricsSerializer(source="run.metrics", allow_null=True, read_only=True)

    class Meta:
        model = ClassifierVersion
        fields = [
            "id",
            "name",
            "target",
            "run",
            "backend",
            "kind",
            "is_active",
            "promoted",
            "decision",
            "metrics",
            "n_predictions",
            "created_at",
            "activated_at",
        ]
        read_only_fields = fields


class PredictionSerializer(serializers.ModelSerializer[Prediction]):
    text = serializers.CharField(source="item.text", read_only=True)
    model = serializers.CharField(source="item.model.name", read_only=True)
    split = serializers.CharField(source="item.prompt.split", read_only=True)
    probabilities = serializers.DictField(child=serializers.FloatField(), read_only=True)

    class Meta:
        model = Prediction
        fields = [
            "item_id",
            "text",
            "model",
            "split",
            "label",
            "positive_probability",
            "probabilities",
            "priority",
        ]
        read_only_fields = fields


class TargetSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    kind = serializers.ChoiceField(
        choices=TrainingRun.Kind.choices,
        help_text="document: a choice dimension (class probabilities); span_tagger: a spans "
        "dimension (labeled spans)",
    )
    classes = serializers.ListField(child=serializers.CharField())
    labels = serializers.IntegerField(help_text="Labeled items on this dimension")
    new_labels = serializers.IntegerField(help_text="Labeled since the last run's snapshot")
    in_progress = serializers.BooleanField()
    active_version = ClassifierVersionSerializer(allow_null=True)


class ClassifierOverviewSerializer(serializers.Serializer[Any]):
    primary_target = serializers.CharField(allow_null=True)
    queue_strategy = serializers.CharField()
    random_share = serializers.FloatField()
    retrain_every = serializers.IntegerField()
    backends = serializers.ListField(child=serializers.CharField())
    targets = TargetSerializer(many=True)


def page_of(serializer: type[serializers.Serializer[Any]], name: str) -> type[Any]:
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


TrainingRunPageSerializer = page_of(TrainingRunSerializer, "TrainingRunPage")
PredictionPageSerializer = page_of(PredictionSerializer, "PredictionPage")


class ScoreTextsRequestSerializer(serializers.Serializer[Any]):
    texts = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        help_text="At most 64 texts of at most 20,000 characters each",
    )


class ScoredSpanSerializer(serializers.Serializer[Any]):
    start = serializers.IntegerField(help_text="Code-point offset into the text")
    end = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named "label"
    score = serializers.FloatField()


class ScoreResultSerializer(serializers.Serializer[Any]):
    label = serializers.CharField(  # type: ignore[assignment]  # a field named "label"
        required=False, help_text="Document classifier: top class"
    )
    probabilities = serializers.DictField(
        child=serializers.FloatField(), required=False, help_text="Document classifier"
    )
    spans = ScoredSpanSerializer(many=True, required=False, help_text="Span tagger")


class ScoringRequestSerializer(serializers.ModelSerializer[ScoringRequest]):
    version_name = serializers.CharField(source="version.name", read_only=True)
    kind = serializers.CharField(source="version.run.kind", read_only=True)
    classes = serializers.ListField(
        source="version.run.classes",
        child=serializers.CharField(),
        read_only=True,
        help_text="Document classifier: the order of the classes; span tagger: its labels",
    )
    results = ScoreResultSerializer(many=True, allow_null=True, read_only=True)

    class Meta:
        model = ScoringRequest
        fields = [
            "id",
            "version",
            "version_name",
            "kind",
            "classes",
            "status",
            "results",
            "error",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields
