from __future__ import annotations

from django.db.models import QuerySet

from labeling.models import Campaign, Prompt


def campaign_prompt_texts(campaign: Campaign) -> list[tuple[int, str]]:
    """(id, text) of every prompt of the campaign, both splits: models answer all of them."""
    return list(campaign.prompts.order_by("id").values_list("id", "text"))


def prompts_visible(campaign: Campaign, *, is_admin: bool) -> QuerySet[Prompt]:
    """Private (held-out) prompts are listed to campaign admins only."""
    qs = campaign.prompts.order_by("id")
    return qs if is_admin else qs.filter(split=Prompt.Split.PUBLIC)
