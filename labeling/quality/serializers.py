"""Shapes of the quality-control endpoints (typed for the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.api import CleanJSONField, StrictJSONField, page_of
from labeling.models import Adjudication, Consensus


class CategoryAlphaSerializer(serializers.Serializer[Any]):
    alpha = serializers.FloatField(allow_null=True)
    ci95 = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    n_units = serializers.IntegerField()
    level = serializers.CharField()
    flagged = serializers.BooleanField()


class KappaPairSerializer(serializers.Serializer[Any]):
    a = serializers.IntegerField()
    b = serializers.IntegerField()
    n = serializers.IntegerField()
    kappa = serializers.FloatField(allow_null=True)


class DimensionAgreementSerializer(CategoryAlphaSerializer):
    name = serializers.CharField()
    type = serializers.CharField()
    fit_method = serializers.CharField(allow_null=True)
    by_category = serializers.DictField(child=CategoryAlphaSerializer())
    kappa = KappaPairSerializer(many=True, required=False)


class AnnotatorQualitySerializer(serializers.Serializer[Any]):
    annotator_id = serializers.IntegerField()
    username = serializers.CharField()
    role = serializers.CharField(allow_null=True)
    paused_at = serializers.DateTimeField(allow_null=True)
    pause_reason = serializers.CharField(allow_blank=True)
    n_labels = serializers.IntegerField()
    gold_answers = serializers.IntegerField()
    gold_correct = serializers.IntegerField()
    gold_accuracy = serializers.FloatField(allow_null=True)
    agreement = serializers.FloatField(allow_null=True)
    agreement_n = serializers.IntegerField()
    median_time_ms = serializers.FloatField(allow_null=True)
    skipped = serializers.IntegerField()
    skip_rate = serializers.FloatField(allow_null=True)
    confusion = CleanJSONField(
        help_text="Dawid-Skene confusion per dimension: {dimension: {true: {given: p}}}"
    )


class QualityOverviewSerializer(serializers.Serializer[Any]):
    consensus_method = serializers.CharField()
    refit_scheduled = serializers.BooleanField()
    refit_running = serializers.BooleanField()
    last_refit_at = serializers.DateTimeField(allow_null=True)
    last_refit_s = serializers.FloatField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)
    report_at = serializers.DateTimeField(allow_null=True)
    n_annotations = serializers.IntegerField()
    gold_items = serializers.IntegerField()
    dimensions = DimensionAgreementSerializer(many=True)
    annotators = AnnotatorQualitySerializer(many=True)


class RefitSerializer(serializers.Serializer[Any]):
    scheduled = serializers.BooleanField(help_text="false when a refit was already waiting")


class ReviewRowSerializer(serializers.ModelSerializer[Consensus]):
    value = CleanJSONField()
    output = serializers.CharField(source="item.text")
    prompt = serializers.CharField(source="item.prompt.text")
    split = serializers.CharField(source="item.prompt.split")
    category = serializers.CharField(source="item.prompt.category")
    model_name = serializers.CharField(source="item.model.name")
    is_gold = serializers.BooleanField(source="item.is_gold")

    class Meta:
        model = Consensus
        fields = [
            "item_id",
            "dimension",
            "value",
            "confidence",
            "method",
            "n_labels",
            "updated_at",
            "output",
            "prompt",
            "split",
            "category",
            "model_name",
            "is_gold",
        ]


ReviewPageSerializer = page_of(ReviewRowSerializer, "ReviewPage")


class ConsensusSerializer(serializers.ModelSerializer[Consensus]):
    value = CleanJSONField()
    posterior = CleanJSONField(allow_null=True)

    class Meta:
        model = Consensus
        fields = ["dimension", "value", "confidence", "posterior", "method", "n_labels"]


class AdjudicationSerializer(serializers.ModelSerializer[Adjudication]):
    value = CleanJSONField()
    fitted = CleanJSONField(allow_null=True)
    adjudicated_by = serializers.SerializerMethodField()

    class Meta:
        model = Adjudication
        fields = [
            "item_id",
            "dimension",
            "value",
            "note",
            "fitted",
            "adjudicated_by",
            "adjudicated_at",
        ]

    def get_adjudicated_by(self, obj: Adjudication) -> str | None:
        return obj.adjudicated_by.get_username() if obj.adjudicated_by else None


class SideBySideSerializer(serializers.Serializer[Any]):
    annotator_id = serializers.IntegerField()
    username = serializers.CharField()
    values = CleanJSONField()
    time_spent_ms = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    gold_correct = serializers.BooleanField(allow_null=True)


class ReviewItemDetailSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="item.id")
    output = serializers.CharField(source="item.text")
    prompt = serializers.CharField(source="item.prompt.text")
    split = serializers.CharField(source="item.prompt.split")
    category = serializers.CharField(source="item.prompt.category")
    model_name = serializers.CharField(source="item.model.name")
    is_gold = serializers.BooleanField(source="item.is_gold")
    gold_values = CleanJSONField(source="item.gold_values", allow_null=True)
    annotations = SideBySideSerializer(many=True)
    consensus = ConsensusSerializer(many=True)
    adjudications = AdjudicationSerializer(many=True)


class AdjudicateSerializer(serializers.Serializer[Any]):
    dimension = serializers.CharField(max_length=64)
    value = StrictJSONField(help_text="the dimension's value, as an annotator gives it")
    note = serializers.CharField(allow_blank=True, required=False, default="", max_length=2000)


class GoldSerializer(serializers.Serializer[Any]):
    gold_values = StrictJSONField(
        help_text='expected values of some or all dimensions, e.g. {"harm": "unsafe"}'
    )


class GoldItemSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    is_gold = serializers.BooleanField()
    gold_values = CleanJSONField(allow_null=True)
    open_slots = serializers.IntegerField()


class PromoteSerializer(serializers.Serializer[Any]):
    min_labels = serializers.IntegerField(default=3, min_value=2, max_value=50)
    limit = serializers.IntegerField(default=50, min_value=1, max_value=1000)


class PromotedSerializer(serializers.Serializer[Any]):
    promoted = serializers.ListField(child=serializers.IntegerField())


class ResumedSerializer(serializers.Serializer[Any]):
    user_id = serializers.IntegerField()
    paused_at = serializers.DateTimeField(allow_null=True)
