from __future__ import annotations

from typing import Any

from rest_framework import serializers

from labeling.models import BlurMode


class CareStatusSerializer(serializers.Serializer[Any]):
    state = serializers.ChoiceField(
        choices=["ok", "warning", "limit_reached", "break_due"],
        help_text="warning: acknowledge the content warning first; limit_reached: the day's "
        "items or minutes are used up (nothing is leased); break_due: a break reminder",
    )
    limit = serializers.ChoiceField(choices=["items", "minutes"], allow_null=True)
    items_today = serializers.IntegerField()
    minutes_today = serializers.FloatField()
    daily_item_limit = serializers.IntegerField(help_text="0: no limit")
    daily_minute_limit = serializers.IntegerField(help_text="0: no limit")
    break_every_minutes = serializers.IntegerField(help_text="0: no reminders")
    minutes_since_break = serializers.FloatField()
    items_left_today = serializers.IntegerField(allow_null=True)
    opt_outs = serializers.ListField(child=serializers.CharField())


class MyCareSerializer(serializers.Serializer[Any]):
    content_warning = serializers.CharField(help_text="Markdown; empty: none")
    warning_acknowledged_at = serializers.DateTimeField(allow_null=True)
    blur_outputs = serializers.ChoiceField(choices=BlurMode.choices)
    blur_preference = serializers.BooleanField(
        help_text="Your own choice, in every campaign: blur sensitive outputs"
    )
    hazard_categories = serializers.ListField(
        child=serializers.CharField(), help_text="Categories you may opt out of"
    )
    hazard_opt_outs = serializers.ListField(child=serializers.CharField())
    status = CareStatusSerializer()


class MyCareUpdateSerializer(serializers.Serializer[Any]):
    hazard_opt_outs = serializers.ListField(
        child=serializers.CharField(max_length=200), max_length=100
    )


class CarePreferenceSerializer(serializers.Serializer[Any]):
    blur_outputs = serializers.BooleanField(
        help_text="Blur outputs the campaign marks sensitive until you reveal them"
    )


class ExposureDaySerializer(serializers.Serializer[Any]):
    day = serializers.DateField()
    items = serializers.IntegerField()
    minutes = serializers.FloatField()


class AnnotatorExposureSerializer(serializers.Serializer[Any]):
    annotator_id = serializers.IntegerField()
    username = serializers.CharField()
    items_today = serializers.IntegerField()
    minutes_today = serializers.FloatField()
    limit_reached_today = serializers.BooleanField()
    items_recent = serializers.IntegerField()
    minutes_recent = serializers.FloatField()
    days = ExposureDaySerializer(many=True)


class ExposureReportSerializer(serializers.Serializer[Any]):
    days = serializers.IntegerField()
    daily_item_limit = serializers.IntegerField()
    daily_minute_limit = serializers.IntegerField()
    annotators = AnnotatorExposureSerializer(many=True)
