"""The demo's finished campaign from real human labels: a ConvAbuse slice (data/convabuse/,
CC BY 4.0) replayed through the service layer as its 8 annotators.

Each user utterance to a chatbot (E.L.I.Z.A. or CarbonBot) is an item; the prompt is the bot's
turn before it, and each bot's users form one imported "model", so the leaderboard compares how
abusive the two bots' users were. An annotator's ConvAbuse severity becomes their `abuse` value
and, through the paper's own split (mild, strong, very strong = abusive), their `harm` value:
nothing is invented. Every label arrives through `next` + `submit` (skip where the annotator
gave none), so consensus, agreement, review, scores and the classifier are computed by the same
code as for any campaign, on the workers, once they start. bench/quality_convabuse.py replays
the full splits the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model

from generation.convabuse_csv import ABUSIVE, N_ANNOTATORS, SEVERITY, Utterance, read_utterances
from generation.models import CandidateModel
from labeling.campaigns.services import (
    NewItem,
    campaign_create,
    campaign_update,
    items_create,
    membership_set,
    prompts_import,
)
from labeling.models import Campaign, Item, Membership, Prompt
from labeling.quality.consensus import consensus_refit
from labeling.queue.services import annotation_submit, assignment_next, assignment_skip

CAMPAIGN_NAME = "ConvAbuse: users' abuse toward two chatbots (real labels)"
SLICE = Path(settings.BASE_DIR) / "data" / "convabuse" / "ConvAbuseEMNLPvalid_slice.csv"
INSTRUCTIONS = """\
Real labels from ConvAbuse (Cercas Curry et al., EMNLP 2021; CC BY 4.0), replayed as its eight
annotators. Each item is a user's message to a chatbot; the question above it is the bot's turn.
Content warning: abusive and sexually explicit text.
"""


def _opts(*values: str) -> list[dict[str, str]]:
    return [{"value": v, "label": v.replace("_", " ").capitalize()} for v in values]


RUBRIC: dict[str, Any] = {
    "dimensions": [
        {
            "name": "harm",
            "type": "choice",
            "label": "Is the message abusive?",
            "required": True,
            "options": _opts("safe", "unsafe"),
            "positive": ["unsafe"],
        },
        {
            "name": "abuse",
            "type": "choice",
            "label": "How abusive (ConvAbuse severity)?",
            "required": True,
            "options": _opts(*SEVERITY.values()),
            "positive": list(ABUSIVE),
        },
    ]
}


def read_slice(path: Path = SLICE) -> list[Utterance]:
    return read_utterances([path], example_id=lambda _, row: f"convabuse-{row['example_id']}")


def _build(utterances: list[Utterance], admin: Any) -> Campaign:
    campaign = campaign_create(
        user=admin, name=CAMPAIGN_NAME, instructions=INSTRUCTIONS, rubric=RUBRIC, overlap=8
    )
    lines = [
        # The id in the text: bots repeat their turns, and a campaign's prompts are unique.
        json.dumps({"id": u.example_id, "text": f"[{u.example_id}] {u.agent}", "category": u.bot})
        for u in utterances
    ]
    prompts_import(campaign=campaign, data="\n".join(lines), fmt="jsonl")
    prompt_ids = dict(Prompt.objects.filter(campaign=campaign).values_list("external_id", "id"))
    for bot in sorted({u.bot for u in utterances}):
        model, _ = CandidateModel.objects.get_or_create(
            name=f"ConvAbuse users of {bot}", defaults={"backend": "imported"}
        )
        new = [
            NewItem(prompt_id=prompt_ids[u.example_id], sample_index=0, text=u.user)
            for u in utterances
            if u.bot == bot
        ]
        items_create(campaign=campaign, model_id=model.pk, params_hash="convabuse", new_items=new)
    # The replay skips every item an annotator did not label in the dataset: far more than the
    # hourly skip cap meant for people. Retraining after 100 new labels lets the first refit of
    # its 150 items train a classifier, so the classifier page has a version to show.
    return campaign_update(
        campaign=campaign,
        data={"status": "labeling", "skip_limit_per_hour": 10_000, "retrain_every": 100},
    )


def _replay(campaign: Campaign, utterances: list[Utterance]) -> int:
    users = get_user_model().objects
    labels = {u.example_id: u.labels for u in utterances}
    example_of = dict(
        Item.objects.filter(campaign=campaign).values_list("id", "prompt__external_id")
    )
    submitted = 0
    for a in range(1, N_ANNOTATORS + 1):
        user, _ = users.get_or_create(username=f"convabuse-annotator-{a}")
        membership_set(campaign=campaign, user=user, role=Membership.Role.ANNOTATOR)
        while (lease := assignment_next(campaign=campaign, user=user)) is not None:
            given = labels[example_of[lease.item_id]].get(a)
            if given is None:
                assignment_skip(assignment_id=lease.pk, user=user)
                continue
            harm = "unsafe" if given in ABUSIVE else "safe"
            annotation_submit(
                assignment_id=lease.pk, user=user, values={"harm": harm, "abuse": given}
            )
            submitted += 1
    return submitted


def load_convabuse_campaign(*, admin: Any) -> tuple[Campaign, int]:
    """The finished campaign, created once: (campaign, labels replayed now; 0 if it existed)."""
    existing = Campaign.objects.filter(name=CAMPAIGN_NAME).first()
    if existing is not None:
        return existing, 0
    utterances = read_slice()
    campaign = _build(utterances, admin)
    replayed = _replay(campaign, utterances)
    # Consensus now, in this process: `make run` trains the campaign's classifier next
    # (manage.py train_classifier), before the workers start.
    consensus_refit(campaign_id=campaign.pk, owner="load_demo")
    return campaign, replayed
