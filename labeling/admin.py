from django.contrib import admin

from labeling.models import (
    Adjudication,
    Annotation,
    Assignment,
    Campaign,
    Consensus,
    GoldAnswer,
    Item,
    Membership,
    Prompt,
    Rubric,
)


class MembershipInline(admin.TabularInline[Membership, Campaign]):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin[Campaign]):
    list_display = ["id", "name", "status", "overlap", "lease_minutes", "created_at"]
    list_filter = ["status"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Rubric)
class RubricAdmin(admin.ModelAdmin[Rubric]):
    list_display = ["id", "name", "created_at"]


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin[Prompt]):
    list_display = ["id", "campaign", "split", "category", "text"]
    list_filter = ["split", "campaign"]
    search_fields = ["text", "external_id"]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin[Item]):
    list_display = [
        "id",
        "campaign",
        "model",
        "sample_index",
        "n_submitted",
        "open_slots",
        "finish_reason",
    ]
    list_filter = ["campaign", "model", "finish_reason"]
    raw_id_fields = ["prompt", "job"]
    readonly_fields = ["provenance"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin[Assignment]):
    list_display = ["id", "campaign", "item", "annotator", "status", "expires_at"]
    list_filter = ["status", "campaign"]
    raw_id_fields = ["item"]


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin[Annotation]):
    list_display = ["id", "item", "annotator", "time_spent_ms", "created_at"]
    raw_id_fields = ["item", "assignment"]


@admin.register(Consensus)
class ConsensusAdmin(admin.ModelAdmin[Consensus]):
    list_display = ["id", "campaign", "item", "dimension", "method", "confidence", "n_labels"]
    list_filter = ["campaign", "dimension", "method"]
    raw_id_fields = ["item"]


@admin.register(Adjudication)
class AdjudicationAdmin(admin.ModelAdmin[Adjudication]):
    list_display = ["id", "campaign", "item", "dimension", "adjudicated_by", "adjudicated_at"]
    list_filter = ["campaign", "dimension"]
    raw_id_fields = ["item"]


@admin.register(GoldAnswer)
class GoldAnswerAdmin(admin.ModelAdmin[GoldAnswer]):
    list_display = ["id", "campaign", "item", "annotator", "correct", "score", "created_at"]
    list_filter = ["campaign", "correct"]
    raw_id_fields = ["item", "annotation"]
