"""Builders for the span tagger tests: a campaign whose items carry consensus harmful spans
over synthetic sentences (seeded), so the tests need no dataset outside the repository."""

from __future__ import annotations

import random
from typing import Any

from labeling.models import Campaign, Consensus, Item
from tests.labeling.factories_extra import make_campaign, make_item, make_model, make_prompt

BAD = ["idiot", "moron", "stupid", "scum", "loser", "pathetic"]
FALSE = ["flat-earth", "hoax"]
NEUTRAL = [
    "a",
    "about",
    "and",
    "book",
    "gardens",
    "history",
    "home",
    "it",
    "later",
    "of",
    "rain",
    "read",
    "report",
    "said",
    "small",
    "so",
    "stayed",
    "the",
    "today",
    "towns",
    "trains",
    "we",
    "weather",
    "would",
]


def sentence(rng: random.Random) -> tuple[str, list[dict[str, Any]]]:
    """A sentence of neutral words with 0-2 harmful words; their spans (code points)."""
    words = rng.sample(NEUTRAL, 8)
    marks: list[str | None] = [None] * len(words)
    for _ in range(rng.choice([0, 1, 1, 2])):
        pos = rng.randrange(len(words))
        if rng.random() < 0.8:
            words[pos], marks[pos] = rng.choice(BAD), "toxic"
        else:
            words[pos], marks[pos] = rng.choice(FALSE), "false_claim"
    if rng.random() < 0.3:
        words.insert(0, "Über")  # a non-ASCII character before the spans: code-point offsets
        marks.insert(0, None)
    text, spans, at = "", [], 0
    for word, mark in zip(words, marks, strict=True):
        if text:
            text += " "
            at += 1
        if mark:
            spans.append({"start": at, "end": at + len(word), "label": mark})
        text += word
        at += len(word)
    return text, spans


def spans_campaign(
    n_labeled: int, n_unlabeled: int = 0, seed: int = 0
) -> tuple[Campaign, list[Item]]:
    """A campaign (default rubric, spans dimension harmful_spans) with consensus spans on the
    first `n_labeled` items."""
    rng = random.Random(seed)
    campaign = make_campaign()
    model = make_model()
    items = []
    for i in range(n_labeled + n_unlabeled):
        text, spans = sentence(rng)
        prompt = make_prompt(campaign=campaign, text=f"prompt {i}")
        item = make_item(campaign=campaign, prompt=prompt, model=model, text=text)
        items.append(item)
        if i < n_labeled:
            Consensus.objects.create(
                campaign=campaign,
                item=item,
                dimension="harmful_spans",
                value=[{**s, "text": text[s["start"] : s["end"]]} for s in spans],
                confidence=1.0,
                method="char_vote",
                n_labels=3,
            )
    return campaign, items
