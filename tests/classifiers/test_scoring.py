"""Scoring arbitrary texts with a version: the API (permissions, bad input, both kinds), the
score_texts command, and the SemEval-2021 Task 5 character F1 against hand-computed cases."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from classifiers.backends import LabeledTexts, SpannedTexts, make_backend, make_tagger
from classifiers.models import ClassifierVersion, ScoringRequest
from classifiers.services.scoring import MAX_TEXTS, scoring_request_execute
from classifiers.spans import char_f1, span_metrics
from labeling.models import Campaign, Membership
from tests.classifiers.helpers import saved_version
from tests.classifiers.span_helpers import sentence
from tests.factories import MembershipFactory, UserFactory
from tests.labeling.factories_extra import make_campaign

pytestmark = pytest.mark.django_db


def _version(campaign: Campaign, tmp: Path, kind: str) -> ClassifierVersion:
    """A fitted model saved on disk and its run and version rows (no training run needed)."""
    rng = random.Random(0)
    rows = [sentence(rng) for _ in range(150)]
    texts = [t for t, _ in rows]
    if kind == "span_tagger":
        backend, target, classes = "span_lexicon", "harmful_spans", ["toxic", "false_claim"]
        model: Any = make_tagger(backend, classes)
        model.fit(SpannedTexts(texts, [s for _, s in rows]))
    else:
        backend, target, classes = "tfidf_logreg", "harm", ["safe", "unsafe"]
        model = make_backend(backend, classes)
        model.fit(LabeledTexts(texts, [int(bool(s)) for _, s in rows]))
    return saved_version(
        campaign, model, tmp / backend, backend=backend, kind=kind, target=target, classes=classes
    )


@pytest.fixture
def campaign() -> Campaign:
    return make_campaign()


def _as(client_as: Any, campaign: Campaign, role: str) -> Any:
    return client_as(MembershipFactory.create(campaign=campaign, role=role).user)


def test_a_lexicon_tagger_scores_texts_at_once(
    campaign: Campaign, tmp_path: Path, client_as: Any
) -> None:
    version = _version(campaign, tmp_path, "span_tagger")
    text = "Über all a moron said the hoax"
    res = _as(client_as, campaign, Membership.Role.VIEWER).post(
        f"/api/classifier-versions/{version.pk}/score/",
        {"texts": [text, "the river"]},
        format="json",
    )
    assert res.status_code == 201, res.content
    body = res.json()
    assert body["status"] == "succeeded" and body["kind"] == "span_tagger"
    assert body["classes"] == ["toxic", "false_claim"]
    first, second = body["results"]
    got = {(s["start"], s["end"], s["label"]) for s in first["spans"]}
    assert (text.index("moron"), text.index("moron") + 5, "toxic") in got
    assert second["spans"] == []


def test_a_document_classifier_is_scored_on_a_worker_and_names_its_class_order(
    campaign: Campaign, tmp_path: Path, client_as: Any
) -> None:
    version = _version(campaign, tmp_path, "document")
    client = _as(client_as, campaign, Membership.Role.ADMIN)
    res = client.post(
        f"/api/classifier-versions/{version.pk}/score/",
        {"texts": ["a moron and a loser", "the weather report"]},
        format="json",
    )
    assert res.status_code == 201, res.content
    assert res.json()["status"] == "queued"
    scoring_request_execute(res.json()["id"])  # what the worker's task does
    body = client.get(f"/api/classifier-scorings/{res.json()['id']}/").json()
    assert body["status"] == "succeeded"
    assert body["classes"] == ["safe", "unsafe"]
    bad, good = body["results"]
    assert list(bad["probabilities"]) == ["safe", "unsafe"]
    assert abs(sum(bad["probabilities"].values()) - 1) < 1e-5
    assert bad["probabilities"]["unsafe"] > good["probabilities"]["unsafe"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "texts"),
        ({"texts": "just one"}, "texts"),
        ({"texts": []}, "texts"),
        ({"texts": ["ok", 3]}, "texts.1"),
        ({"texts": ["x" * 20_001]}, "texts.0"),
        ({"texts": ["x"] * (MAX_TEXTS + 1)}, "texts"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    campaign: Campaign, tmp_path: Path, client_as: Any, payload: Any, field: str
) -> None:
    version = _version(campaign, tmp_path, "span_tagger")
    res = _as(client_as, campaign, Membership.Role.ADMIN).post(
        f"/api/classifier-versions/{version.pk}/score/", payload, format="json"
    )
    assert res.status_code == 400, res.content
    assert field in json.dumps(res.json())
    assert ScoringRequest.objects.count() == 0


def test_other_users_versions_and_requests_are_404_annotators_403(
    campaign: Campaign, tmp_path: Path, client_as: Any
) -> None:
    version = _version(campaign, tmp_path, "span_tagger")
    url = f"/api/classifier-versions/{version.pk}/score/"
    stranger = UserFactory.create()
    outsider = client_as(stranger)
    assert outsider.post(url, {"texts": ["a"]}, format="json").status_code == 404
    assert (
        outsider.post(
            "/api/classifier-versions/999999/score/", {"texts": ["a"]}, format="json"
        ).status_code
        == 404
    )
    annotator = _as(client_as, campaign, Membership.Role.ANNOTATOR)
    assert annotator.post(url, {"texts": ["a"]}, format="json").status_code == 403
    mine = _as(client_as, campaign, Membership.Role.VIEWER).post(
        url, {"texts": ["a"]}, format="json"
    )
    outsider = client_as(stranger)  # one client: sign the outsider in again
    assert outsider.get(f"/api/classifier-scorings/{mine.json()['id']}/").status_code == 404
    assert client_as(None).post(url, {"texts": ["a"]}, format="json").status_code in (401, 403)


def test_score_texts_command_jsonl_and_csv(campaign: Campaign, tmp_path: Path) -> None:
    tagger = _version(campaign, tmp_path, "span_tagger")
    doc = _version(make_campaign(), tmp_path / "doc", "document")
    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps({"id": "a", "text": "a moron"})
        + "\n"
        + "not json\n"
        + json.dumps({"id": "b", "body": "no text field"})
        + "\n"
        + json.dumps({"id": "c", "text": "the river"})
        + "\n"
    )
    out = tmp_path / "out.jsonl"
    call_command("score_texts", classifier_version=tagger.pk, input=src, output=out, id_field="id")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "c"]
    assert rows[0]["spans"][0]["label"] == "toxic" and rows[1]["spans"] == []

    csv_in = tmp_path / "in.csv"
    csv_in.write_text("id,text\nx,a loser\ny,the garden\n")
    csv_out = tmp_path / "out.csv"
    call_command(
        "score_texts", classifier_version=doc.pk, input=csv_in, output=csv_out, id_field="id"
    )
    with csv_out.open() as f:
        table = list(csv.reader(f))
    assert table[0] == ["line", "id", "label", "p_safe", "p_unsafe"]
    assert [r[1] for r in table[1:]] == ["x", "y"]

    with pytest.raises(CommandError):
        call_command("score_texts", classifier_version=999999, input=src, output=out)
    with pytest.raises(CommandError):
        call_command(
            "score_texts", classifier_version=tagger.pk, input=src, output=tmp_path / "o.txt"
        )


def test_char_f1_hand_computed() -> None:
    assert char_f1(set(), set()) == 1.0
    assert char_f1({1, 2}, set()) == 0.0
    assert char_f1(set(), {1, 2}) == 0.0
    assert char_f1({1, 2}, {3, 4}) == 0.0
    # predicted 0-3 (4 chars), gold 2-7 (6 chars), overlap 2: P 1/2, R 1/3, F1 = 0.4
    assert char_f1({0, 1, 2, 3}, {2, 3, 4, 5, 6, 7}) == pytest.approx(0.4)
    m = span_metrics(
        [
            [{"start": 2, "end": 8, "label": "toxic"}],
            [],
            [],
        ],
        [
            [{"start": 0, "end": 4, "label": "toxic", "score": 0.95}],
            [],
            [{"start": 0, "end": 1, "label": "toxic", "score": 0.15}],
        ],
        ["toxic"],
    )
    assert m["char_f1"] == pytest.approx((0.4 + 1.0 + 0.0) / 3)
    assert m["char_precision"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert m["char_recall"] == pytest.approx((1 / 3 + 1.0 + 0.0) / 3)
    # per label, pooled: tp 2, fp 2 + 1, fn 4 -> 4 / (4 + 3 + 4)
    assert m["per_label_char_f1"]["toxic"] == pytest.approx(4 / 11)
    counts = {b["lower"]: b["count"] for b in m["score_histogram"]}
    assert counts[0.9] == 1 and counts[0.1] == 1 and sum(counts.values()) == 2
