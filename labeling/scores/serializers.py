"""Response shapes of the scores, leaderboard and export endpoints (for the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from labeling.models import Item, ScoreSummary


class RateSerializer(serializers.Serializer[Any]):
    rate = serializers.FloatField(allow_null=True)
    low = serializers.FloatField()
    high = serializers.FloatField()
    k = serializers.IntegerField()
    n = serializers.IntegerField()


class PPISerializer(serializers.Serializer[Any]):
    estimate = serializers.FloatField(allow_null=True)
    low = serializers.FloatField(allow_null=True)
    high = serializers.FloatField(allow_null=True)
    method = serializers.CharField()
    assumptions = serializers.CharField(
        required=False, help_text="What the interval's validity rests on"
    )
    reason = serializers.CharField(allow_null=True, help_text="Why there is no estimate")
    n_labeled = serializers.IntegerField(required=False)
    n_unlabeled = serializers.IntegerField(required=False)
    # Declared by name: `lambda` is a Python keyword.
    vars()["lambda"] = serializers.FloatField(required=False, help_text="PPI++ power tuning")


class EstimatorSerializer(serializers.Serializer[Any]):
    """One estimator's harm rate, or the reason it gives none."""

    estimator = serializers.ChoiceField(choices=["human", "ppi", "rogan_gladen"])
    method = serializers.CharField()
    assumptions = serializers.CharField(help_text="What the interval's validity rests on")
    value = serializers.FloatField(allow_null=True)
    low = serializers.FloatField(allow_null=True)
    high = serializers.FloatField(allow_null=True)
    reason = serializers.CharField(allow_null=True, help_text="Why there is no number")


class CorrectedSerializer(EstimatorSerializer):
    sensitivity = serializers.FloatField(required=False, help_text="Annotators', on gold items")
    specificity = serializers.FloatField(required=False, help_text="Annotators', on gold items")
    observed = serializers.FloatField(required=False, help_text="Share of 'unsafe' answers")
    gold_items = serializers.IntegerField(required=False)
    gold_answers = serializers.IntegerField(required=False)
    observed_by = serializers.ChoiceField(
        choices=["human", "ppi"], required=False, help_text="How the observed share was estimated"
    )
    paused_annotators_left_out = serializers.IntegerField(
        required=False,
        help_text="Annotators paused for low gold accuracy, whose answers the correction leaves "
        "out (regular and gold)",
    )


class DawidSkeneSerializer(serializers.Serializer[Any]):
    estimate = serializers.FloatField(allow_null=True)
    low = serializers.FloatField(allow_null=True)
    high = serializers.FloatField(allow_null=True)
    reason = serializers.CharField(allow_null=True)
    resamples = serializers.IntegerField(required=False)
    method = serializers.CharField(required=False)
    served = serializers.BooleanField(required=False)
    pending = serializers.BooleanField(
        required=False,
        help_text="True while the fit runs: it comes after the served scores are written",
    )


class SamplingSerializer(serializers.Serializer[Any]):
    design = serializers.CharField(
        allow_null=True,
        help_text="random_prefix (from the queue's sampling record), random_queue_unrecorded "
        "(random strategy, labels from before the record), or null when no uniform sample",
    )
    frontier = serializers.FloatField(allow_null=True, help_text="Last random key of the sample")
    n_random_first = serializers.IntegerField()
    n_priority_first = serializers.IntegerField()
    n_unrecorded = serializers.IntegerField()
    n_sample_labeled = serializers.IntegerField()
    reason = serializers.CharField(allow_null=True)


class HarmEstimateSerializer(serializers.Serializer[Any]):
    """The served harm rate (what the leaderboard ranks by), and every estimator beside it."""

    estimator = serializers.ChoiceField(choices=["human", "ppi", "rogan_gladen"])
    method = serializers.CharField()
    assumptions = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    low = serializers.FloatField(allow_null=True)
    high = serializers.FloatField(allow_null=True)
    reason = serializers.CharField(allow_null=True, help_text="Why no rate is served")
    ranked_by = serializers.ChoiceField(
        choices=["corrected", "uncorrected"],
        help_text="corrected for annotator error when gold allows it, else uncorrected",
    )
    n_labeled = serializers.IntegerField(help_text="Labeled items in the uniform sample")
    n_predicted = serializers.IntegerField(help_text="Items with a classifier prediction")
    uncorrected = EstimatorSerializer()
    corrected = CorrectedSerializer()
    human = EstimatorSerializer()
    dawid_skene = DawidSkeneSerializer()
    sampling = SamplingSerializer()


class HeldOutSerializer(serializers.Serializer[Any]):
    public = serializers.FloatField(allow_null=True)
    private = serializers.FloatField(allow_null=True)
    public_better_by = serializers.FloatField(required=False)
    low = serializers.FloatField(required=False)
    high = serializers.FloatField(required=False)
    flag = serializers.BooleanField(help_text="Markedly better on public than private prompts")
    rule = serializers.CharField(required=False)
    reason = serializers.CharField(required=False)


class ComparisonSerializer(serializers.Serializer[Any]):
    diff = serializers.FloatField(allow_null=True, help_text="this model minus the other")
    low = serializers.FloatField(allow_null=True)
    high = serializers.FloatField(allow_null=True)
    n_prompts = serializers.IntegerField()


class DimensionScoreSerializer(serializers.Serializer[Any]):
    type = serializers.ChoiceField(choices=["choice", "multi_choice", "likert", "spans"])
    kind = serializers.ChoiceField(choices=["rate", "mean", "breakdown"])
    method = serializers.CharField()
    n = serializers.IntegerField(help_text="Labels behind the score")
    rank = serializers.IntegerField(allow_null=True, help_text="Shared when intervals overlap")
    rate = serializers.FloatField(allow_null=True, required=False)
    mean = serializers.FloatField(allow_null=True, required=False)
    low = serializers.FloatField(allow_null=True, required=False)
    high = serializers.FloatField(allow_null=True, required=False)
    k = serializers.IntegerField(required=False)
    n_items = serializers.IntegerField(required=False)
    n_prompts = serializers.IntegerField(required=False)
    positive = serializers.ListField(child=serializers.CharField(), required=False)
    options = serializers.DictField(child=RateSerializer(), required=False)
    labels = serializers.DictField(child=RateSerializer(), required=False)
    items_with_spans = RateSerializer(required=False)
    ppi = PPISerializer(required=False)
    estimate = HarmEstimateSerializer(required=False)
    held_out = HeldOutSerializer(required=False)
    vs = serializers.DictField(
        child=ComparisonSerializer(), required=False, help_text="Paired, by other model id"
    )


class SliceScoresSerializer(serializers.Serializer[Any]):
    n_items = serializers.IntegerField()
    n_labeled_items = serializers.IntegerField()
    n_annotations = serializers.IntegerField()
    dimensions = serializers.DictField(child=DimensionScoreSerializer())


class SplitScoresSerializer(SliceScoresSerializer):
    categories = serializers.DictField(child=SliceScoresSerializer())


class PooledDimensionSerializer(serializers.Serializer[Any]):
    type = serializers.ChoiceField(choices=["choice", "multi_choice", "likert", "spans"])
    kind = serializers.ChoiceField(choices=["rate", "mean"])
    method = serializers.CharField()
    n = serializers.IntegerField(help_text="Labels behind the score, over all campaigns")
    n_campaigns = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True, required=False)
    mean = serializers.FloatField(allow_null=True, required=False)
    low = serializers.FloatField(allow_null=True)
    high = serializers.FloatField(allow_null=True)
    k = serializers.IntegerField(required=False)


class PooledScoresSerializer(serializers.Serializer[Any]):
    n_campaigns = serializers.IntegerField()
    n_items = serializers.IntegerField()
    n_labeled_items = serializers.IntegerField()
    n_annotations = serializers.IntegerField()
    dimensions = serializers.DictField(child=PooledDimensionSerializer())


class ModelScoresSerializer(serializers.Serializer[Any]):
    model_id = serializers.IntegerField()
    model = serializers.CharField()
    campaign_id = serializers.IntegerField()
    campaign = serializers.CharField(required=False)
    computed_at = serializers.DateTimeField(allow_null=True)
    all = SplitScoresSerializer()
    public = SplitScoresSerializer()
    private = SplitScoresSerializer()


class SummaryStatusSerializer(serializers.Serializer[Any]):
    computed_at = serializers.DateTimeField(allow_null=True)
    stale = serializers.BooleanField(help_text="Consensus changed since; a refresh is queued")
    pending = serializers.BooleanField()


class CampaignScoresSerializer(serializers.Serializer[Any]):
    campaign_id = serializers.IntegerField()
    summary = SummaryStatusSerializer()
    models = ModelScoresSerializer(many=True)


class LeaderboardRowSerializer(serializers.ModelSerializer[ScoreSummary]):
    model = serializers.CharField(source="model.name")
    campaign = serializers.CharField(source="campaign.name")
    # A plain string: a second "split" enum would collide with the prompts' in the schema.
    split = serializers.CharField(help_text="all, public or private")
    ppi = serializers.SerializerMethodField()
    estimate = serializers.SerializerMethodField()
    held_out = serializers.SerializerMethodField()

    class Meta:
        model = ScoreSummary
        fields = [
            "rank",
            "model_id",
            "model",
            "campaign_id",
            "campaign",
            "dimension",
            "split",
            "category",
            "kind",
            "value",
            "low",
            "high",
            "higher_is_better",
            "n",
            "n_items",
            "n_labeled_items",
            "n_annotations",
            "method",
            "computed_at",
            "ppi",
            "estimate",
            "held_out",
        ]
        read_only_fields = fields

    @extend_schema_field(PPISerializer(allow_null=True))
    def get_ppi(self, obj: ScoreSummary) -> dict[str, Any] | None:
        return obj.detail.get("ppi")

    @extend_schema_field(HarmEstimateSerializer(allow_null=True))
    def get_estimate(self, obj: ScoreSummary) -> dict[str, Any] | None:
        return obj.detail.get("estimate")

    @extend_schema_field(HeldOutSerializer(allow_null=True))
    def get_held_out(self, obj: ScoreSummary) -> dict[str, Any] | None:
        return obj.detail.get("held_out")


class LeaderboardFiltersSerializer(serializers.Serializer[Any]):
    dimensions = serializers.ListField(child=serializers.CharField())
    categories = serializers.ListField(child=serializers.CharField())


class LeaderboardPageSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    filters = LeaderboardFiltersSerializer()
    results = LeaderboardRowSerializer(many=True)


class ExampleSerializer(serializers.ModelSerializer[Item]):
    prompt = serializers.CharField(source="prompt.text")
    split = serializers.CharField(source="prompt.split")
    category = serializers.CharField(source="prompt.category")
    campaign = serializers.CharField(source="campaign.name")

    class Meta:
        model = Item
        fields = [
            "id",
            "campaign_id",
            "campaign",
            "prompt",
            "split",
            "category",
            "text",
            "harm_probability",
        ]
        read_only_fields = fields


class ExamplePageSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = ExampleSerializer(many=True)


class ModelScoresResponseSerializer(serializers.Serializer[Any]):
    model_id = serializers.IntegerField()
    model = serializers.CharField()
    campaigns = ModelScoresSerializer(many=True)
    overall = PooledScoresSerializer(
        help_text="Across the campaigns listed (all prompts of each, gold excluded)"
    )
