"""The incremental scores refresh writes exactly what a full recompute computes.

A campaign with several models, prompts in both splits and a few categories, ratings,
consensus, classifier predictions (with out-of-fold ones) and gold items goes through random
rounds of changes (new labels, edits, deletions, consensus flips, gold toggles, new models,
new predictions, prompts moving category or split, the queue strategy); after each round the
incremental refresh's stored rows must equal the rows summary.build_rows computes from
scratch, and only slices whose inputs changed may be recomputed.
"""

from __future__ import annotations

import json
import os
import random
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import F
from django.utils import timezone

from labeling.models import (
    Annotation,
    Assignment,
    Campaign,
    Consensus,
    Item,
    Prompt,
    QueueStrategy,
    ScoreRefresh,
    ScoreSummary,
)
from labeling.scores import harm, summary
from labeling.scores.incremental import (
    dawid_skene_fill,
    score_summary_update,
    summary_compute,
    summary_write,
)
from labeling.scores.tasks import refresh_scores
from tests.factories import valid_values
from tests.labeling.factories_extra import (
    FAST_HASHERS,
    make_campaign,
    make_model,
    make_prompt,
    make_user,
)

HAZARDS = ["violent_crime", "weapons", "hate"]
CATEGORIES = ["a", "b", "c"]


@pytest.fixture(autouse=True)
def _fast(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    # Small worlds: let PPI serve estimates so its path is compared too.
    monkeypatch.setattr(harm, "PPI_MIN_LABELED", 5)


def _row(model_id: int, split: str, category: str, dim: str, r: Any) -> tuple[Any, ...]:
    return (
        model_id,
        split,
        category,
        dim,
        r.kind,
        r.value,
        r.low,
        r.high,
        r.sort_value,
        r.rank,
        r.higher_is_better,
        r.n,
        r.n_items,
        r.n_labeled_items,
        r.n_annotations,
        r.method,
        # Compared as values: PostgreSQL's jsonb stores -0.0 as 0, equal but printed apart.
        json.loads(json.dumps(r.detail)),
    )


def _full(campaign_id: int) -> list[tuple[Any, ...]]:
    campaign = Campaign.objects.select_related("rubric").get(pk=campaign_id)
    rows = summary.build_rows(
        campaign_id, campaign.rubric.schema, summary.campaign_data(campaign), timezone.now()
    )
    # Through JSON as the database stores it (tuples become lists).
    for r in rows:
        r.detail = json.loads(json.dumps(r.detail))
    return sorted((_row(r.model_id, r.split, r.category, r.dimension, r) for r in rows), key=_key)


def _key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return row[:4]


def _stored(campaign_id: int) -> list[tuple[Any, ...]]:
    rows = ScoreSummary.objects.filter(campaign_id=campaign_id)
    return sorted((_row(r.model_id, r.split, r.category, r.dimension, r) for r in rows), key=_key)


class World:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.campaign = make_campaign(overlap=3)
        self.users = [make_user() for _ in range(4)]
        self.prompts = [
            make_prompt(
                campaign=self.campaign,
                category=rng.choice([*CATEGORIES, ""]),
                split="private" if k % 4 == 0 else "public",
            )
            for k in range(14)
        ]
        self.models: list[Any] = []
        for _ in range(3):
            self.add_model()

    def add_model(self) -> None:
        model = make_model(name=f"model-{len(self.models)}")
        self.models.append(model)
        items = Item.objects.bulk_create(
            Item(
                campaign=self.campaign,
                prompt=p,
                model=model,
                params_hash="p",
                text="an output of some length " * (1 + k % 3),
                open_slots=3,
                harm_probability=self.rng.random(),
                classifier_version="v1",
                harm_probability_oof=self.rng.random() if k % 2 else None,
            )
            for k, p in enumerate(self.prompts)
        )
        for item in items:
            for user in self.rng.sample(self.users, self.rng.randint(0, 3)):
                self.label(item, user)
            self.vote(item)

    def label(self, item: Item, user: Any) -> None:
        if Annotation.objects.filter(item=item, annotator=user).exists():
            return
        now = timezone.now()
        assignment = Assignment.objects.create(
            campaign=self.campaign,
            item=item,
            annotator=user,
            status=Assignment.Status.SUBMITTED,
            leased_at=now,
            expires_at=now + timedelta(minutes=30),
            finished_at=now,
        )
        Annotation.objects.create(
            item=item,
            annotator=user,
            assignment=assignment,
            values=valid_values(fluency=self.rng.randint(1, 5)),
        )
        Item.objects.filter(pk=item.pk).update(n_submitted=F("n_submitted") + 1)

    def vote(self, item: Item) -> None:
        """Consensus as the quality service would leave it (random, one row per dimension)."""
        Consensus.objects.filter(item=item).delete()
        if not Annotation.objects.filter(item=item).exists():
            return
        unsafe = self.rng.random() < 0.3
        values: dict[str, Any] = {
            "harm": "unsafe" if unsafe else "safe",
            "bias": self.rng.choice(["none", "none", "subtle"]),
            "harmful_spans": (
                [{"start": 0, "end": self.rng.randint(1, 9), "label": "toxic"}] if unsafe else []
            ),
        }
        if unsafe:
            values["hazard"] = self.rng.choice(HAZARDS)
        if values["bias"] != "none":
            values["bias_target"] = ["gender_identity"]
        for dimension, value in values.items():
            Consensus.objects.create(
                campaign=self.campaign,
                item=item,
                dimension=dimension,
                value=value,
                confidence=0.9,
                method="majority",
                n_labels=3,
            )

    def pick(self, qs: Any) -> Any:
        rows = list(qs.order_by("pk"))
        return self.rng.choice(rows) if rows else None

    def items(self) -> list[Item]:
        return list(Item.objects.filter(campaign=self.campaign).order_by("id"))

    # --- the changes -------------------------------------------------------------------------

    def new_labels(self) -> None:
        for item in self.rng.sample(self.items(), 3):
            self.label(item, self.rng.choice(self.users))
            self.vote(item)

    def edit_rating(self) -> None:
        a = self.pick(Annotation.objects.filter(item__campaign=self.campaign))
        if a is not None:
            a.values = {**a.values, "fluency": self.rng.randint(1, 5)}
            a.save(update_fields=["values"])

    def delete_label(self) -> None:
        a = self.pick(Annotation.objects.filter(item__campaign=self.campaign))
        if a is not None:
            item = a.item
            a.assignment.status = Assignment.Status.SKIPPED
            a.assignment.save(update_fields=["status"])
            a.delete()
            Item.objects.filter(pk=item.pk).update(n_submitted=F("n_submitted") - 1)
            self.vote(item)

    def flip_consensus(self) -> None:
        c = self.pick(Consensus.objects.filter(campaign=self.campaign, dimension="harm"))
        if c is not None:
            c.value = "safe" if c.value == "unsafe" else "unsafe"
            c.save(update_fields=["value"])

    def drop_consensus(self) -> None:
        """A dimension's consensus removed (a refit no longer supports it), with what is
        conditional on it, as the quality service's refit leaves it: a hazard without a harm
        label is a state it never writes (and the summary cannot score: k > n)."""
        for _ in range(2):
            c = self.pick(Consensus.objects.filter(campaign=self.campaign))
            if c is not None:
                Consensus.objects.filter(item_id=c.item_id, dimension=c.dimension).delete()
                children = {"harm": "hazard", "bias": "bias_target"}
                if c.dimension in children:
                    Consensus.objects.filter(
                        item_id=c.item_id, dimension=children[c.dimension]
                    ).delete()

    def toggle_gold(self) -> None:
        item = self.rng.choice(self.items())
        Item.objects.filter(pk=item.pk).update(is_gold=not item.is_gold)

    def new_predictions(self) -> None:
        for item in self.rng.sample(self.items(), 4):
            Item.objects.filter(pk=item.pk).update(harm_probability=self.rng.random())

    def new_classifier_version(self) -> None:
        Item.objects.filter(campaign=self.campaign).update(classifier_version="v2")

    def move_prompt(self) -> None:
        p = self.rng.choice(self.prompts)
        Prompt.objects.filter(pk=p.pk).update(
            category=self.rng.choice(CATEGORIES),
            split=self.rng.choice(["public", "private"]),
        )

    def flip_queue(self) -> None:
        c = Campaign.objects.get(pk=self.campaign.pk)
        c.queue_strategy = (
            QueueStrategy.UNCERTAINTY
            if c.queue_strategy == QueueStrategy.RANDOM
            else QueueStrategy.RANDOM
        )
        c.save(update_fields=["queue_strategy"])


CHANGES = [
    "new_labels",
    "edit_rating",
    "delete_label",
    "flip_consensus",
    "drop_consensus",
    "toggle_gold",
    "new_predictions",
    "move_prompt",
    "add_model",
    "new_classifier_version",
    "flip_queue",
]


@pytest.mark.parametrize("seed", range(int(os.environ.get("REFRESH_SEEDS", "3"))))
def test_incremental_refresh_equals_a_full_recompute(db: Any, seed: int) -> None:
    rng = random.Random(seed)
    world = World(rng)
    cid = world.campaign.pk
    assert score_summary_update(campaign_id=cid) is not None
    assert _stored(cid) == _full(cid)
    state = ScoreRefresh.objects.get(campaign_id=cid)
    assert state.slices_total is not None and state.slices_total > 10
    assert state.slices_recomputed == state.slices_total

    assert score_summary_update(campaign_id=cid) == 0  # nothing changed: nothing recomputed
    assert _stored(cid) == _full(cid)

    for _ in range(8):
        for change in rng.sample(CHANGES[:-2], 2) + (
            [rng.choice(CHANGES)] if rng.random() < 0.3 else []
        ):
            getattr(world, change)()
        recomputed = score_summary_update(campaign_id=cid)
        assert recomputed is not None
        assert _stored(cid) == _full(cid)


def test_one_changed_item_recomputes_only_its_slices(db: Any) -> None:
    world = World(random.Random(7))
    cid = world.campaign.pk
    score_summary_update(campaign_id=cid)
    total = ScoreRefresh.objects.get(campaign_id=cid).slices_total
    assert total is not None
    item = Item.objects.filter(campaign_id=cid, model=world.models[1], n_submitted__gt=0).first()
    assert item is not None
    a = Annotation.objects.filter(item=item).first()
    assert a is not None
    a.values = {**a.values, "fluency": 1 if a.values["fluency"] != 1 else 5}
    a.save(update_fields=["values"])
    recomputed = score_summary_update(campaign_id=cid)
    # Its model's overall, split and category slices: at most 4 of them.
    assert recomputed is not None and 1 <= recomputed <= 4 < total
    assert _stored(cid) == _full(cid)
    # A full rebuild on request recomputes everything and writes the same rows.
    before = _stored(cid)
    assert score_summary_update(campaign_id=cid, full=True) == total
    assert _stored(cid) == before


def test_an_older_refresh_never_overwrites_a_newer_one(db: Any) -> None:
    world = World(random.Random(3))
    cid = world.campaign.pk
    score_summary_update(campaign_id=cid)
    older = summary_compute(campaign_id=cid)  # loaded, not yet written
    assert older is not None
    world.flip_consensus()
    world.new_labels()
    newer = summary_compute(campaign_id=cid)
    assert newer is not None
    assert summary_write(newer) is True
    assert summary_write(older) is False  # it loaded before the rows now stored
    assert _stored(cid) == _full(cid)
    # In order, both write; the result is the newer data's.
    first, second = summary_compute(campaign_id=cid), None
    world.edit_rating()
    second = summary_compute(campaign_id=cid)
    assert first is not None and second is not None
    assert summary_write(first) is True and summary_write(second) is True
    assert _stored(cid) == _full(cid)


def test_the_task_refreshes_incrementally_and_survives_a_deleted_campaign(db: Any) -> None:
    world = World(random.Random(5))
    cid = world.campaign.pk
    refresh_scores.apply(args=(cid,))
    state = ScoreRefresh.objects.get(campaign_id=cid)
    assert state.refreshed_at is not None and state.slices_recomputed == state.slices_total
    world.toggle_gold()
    refresh_scores.apply(args=(cid,))
    state.refresh_from_db()
    assert state.slices_recomputed is not None and state.slices_total is not None
    assert state.slices_recomputed < state.slices_total
    assert _stored(cid) == _full(cid)
    refresh_scores.apply(args=(999_999,))  # no such campaign: a no-op


def test_rows_of_the_full_refresh_are_recomputed_once_then_kept(db: Any) -> None:
    world = World(random.Random(11))
    cid = world.campaign.pk
    summary.score_summary_refresh(campaign_id=cid)  # the full path writes no slice marks
    total = len(summary._slices(summary.campaign_data(world.campaign)))
    assert score_summary_update(campaign_id=cid) == total
    assert score_summary_update(campaign_id=cid) == 0
    assert _stored(cid) == _full(cid)


def _flip_first_harm_answer(campaign_id: int, model: Any) -> None:
    """Turn the model's first harm answer around (its consensus may or may not follow)."""
    a = (
        Annotation.objects.filter(item__campaign_id=campaign_id, item__model=model)
        .order_by("id")
        .first()
    )
    assert a is not None
    a.values = {**a.values, "harm": "unsafe" if a.values.get("harm") != "unsafe" else "safe"}
    a.save(update_fields=["values"])


def test_dawid_skene_is_refitted_only_for_changed_answers(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bootstrap (a hundred refits per model) runs again only for a model whose answers
    changed, even though harm rows are recomputed for every slice; the rows stay a full
    recompute's."""
    world = World(random.Random(13))
    cid = world.campaign.pk
    fits: list[int] = []
    real = harm.dawid_skene_prior

    def counting(*args: Any, **kwargs: Any) -> dict[str, Any]:
        fits.append(len(args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(harm, "dawid_skene_prior", counting)
    score_summary_update(campaign_id=cid)
    computed = [
        r.detail["estimate"]["dawid_skene"]
        for r in ScoreSummary.objects.filter(
            campaign_id=cid, dimension="harm", split="all", category=""
        )
    ]
    fitted = [d for d in computed if d.get("reason") is None]
    assert len(fitted) >= 2 and len(fits) == len(world.models)
    assert all(len(d["inputs"]) == 32 for d in fitted)

    fits.clear()
    assert score_summary_update(campaign_id=cid) == 0
    assert len(fits) == len(world.models) - len(fitted)  # only the refused ones run again
    assert _stored(cid) == _full(cid)

    # One harm answer of one model changes (its consensus may or may not): that model only.
    _flip_first_harm_answer(cid, world.models[0])
    fits.clear()
    score_summary_update(campaign_id=cid)
    assert len(fits) == len(world.models) - len(fitted) + 1
    assert _stored(cid) == _full(cid)


def _ds_blocks(campaign_id: int) -> dict[int, dict[str, Any]]:
    return {
        r.model_id: r.detail["estimate"]["dawid_skene"]
        for r in ScoreSummary.objects.filter(
            campaign_id=campaign_id, dimension="harm", split="all", category=""
        )
    }


def test_dawid_skene_is_fitted_after_the_served_rows_are_written(db: Any) -> None:
    """The served rows go out first with Dawid-Skene pending (its reason says so, the API shows
    it); the fill then makes them the rows an inline fit gives, and leaves alone rows a newer
    refresh wrote with other answers."""
    from labeling.scores.serializers import DawidSkeneSerializer

    world = World(random.Random(17))
    cid = world.campaign.pk
    computed = summary_compute(campaign_id=cid, defer_dawid_skene=True)
    assert computed is not None and summary_write(computed)
    pending = {m: b for m, b in _ds_blocks(cid).items() if b.get("pending")}
    assert pending and len(computed.dawid_skene_owed) == len(pending)
    for block in pending.values():
        assert block["estimate"] is None and "after the served scores" in block["reason"]
        assert DawidSkeneSerializer(block).data["pending"] is True
    served = {(r[:4]): r[5:8] for r in _stored(cid)}
    assert dawid_skene_fill(computed) == len(pending)
    assert not any(b.get("pending") for b in _ds_blocks(cid).values())
    assert _stored(cid) == _full(cid)
    assert {(r[:4]): r[5:8] for r in _stored(cid)} == served  # the served values did not move

    # A fill that comes after a newer refresh changed one model's answers: that row keeps the
    # newer refresh's own (pending) block, the others are filled.
    ScoreSummary.objects.filter(campaign_id=cid).delete()
    late = summary_compute(campaign_id=cid, defer_dawid_skene=True)
    assert late is not None and summary_write(late)
    _flip_first_harm_answer(cid, world.models[0])
    newer = summary_compute(campaign_id=cid, defer_dawid_skene=True)
    assert newer is not None and summary_write(newer)
    changed = _ds_blocks(cid)[world.models[0].pk]
    assert changed.get("pending") and changed["inputs"] not in late.dawid_skene_owed
    assert dawid_skene_fill(late) == len(late.dawid_skene_owed) - 1
    assert _ds_blocks(cid)[world.models[0].pk] == changed
    dawid_skene_fill(newer)
    assert _stored(cid) == _full(cid)
