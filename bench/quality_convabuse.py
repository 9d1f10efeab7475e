#!/usr/bin/env python3
"""Quality control on real labels: ConvAbuse (Cercas Curry et al., EMNLP 2021), train + valid.

Every user utterance becomes an item of one campaign whose rubric has ConvAbuse's abuse
severity (1 not abusive, 0 ambiguous, -1 mild, -2 strong, -3 very strong). Each of the 8
annotators is replayed through the service layer as that annotator: `next` leases items in the
campaign's own order, the annotator submits their label where they gave one and skips the rest.
Then the full consensus refit runs (Dawid-Skene and, for comparison, majority vote), and the
quality report computes Krippendorff's alpha.

It reports alpha (nominal) on the binary abusive-vs-not and on the 5-level severity, both from
Assay and computed directly with `krippendorff` on the raters x units matrix read from the CSV
(they must match to 1e-9), the DS and majority consensus and their agreement with the dataset's
own (strict) majority, and the refit time. Written to bench/results/quality_convabuse.json.

An annotator who labelled an utterance twice has both labels in one cell ("0, 0"): the first is
used, as the splits' own one-label-per-annotator view.

Usage (from the repository root):
    .venv/bin/python bench/quality_convabuse.py [--data ../shared/datasets/convabuse] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._django import setup_django  # noqa: E402
from generation.convabuse_csv import (  # noqa: E402
    ABUSIVE,
    N_ANNOTATORS,
    SEVERITY,
    Utterance,
)
from generation.convabuse_csv import read_utterances as read_convabuse  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "quality_convabuse.json"
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "convabuse"
FILES = ("ConvAbuseEMNLPtrain.csv", "ConvAbuseEMNLPvalid.csv")
RUBRIC: dict[str, Any] = {
    "dimensions": [
        {
            "name": "abuse",
            "type": "choice",
            "label": "Is the user's utterance abusive, and how strongly?",
            "required": True,
            "options": [
                {"value": "not_abusive", "label": "Not abusive"},
                {"value": "ambiguous", "label": "Ambiguous"},
                {"value": "mild", "label": "Mildly abusive"},
                {"value": "strong", "label": "Strongly abusive"},
                {"value": "very_strong", "label": "Very strongly abusive"},
            ],
            "positive": list(ABUSIVE),
        }
    ]
}
BINARY_DIM: dict[str, Any] = {
    "name": "abusive",
    "type": "choice",
    "options": [{"value": "no"}, {"value": "yes"}],
}


def read_utterances(paths: Iterable[Path], limit: int | None = None) -> list[Utterance]:
    return read_convabuse(
        paths, example_id=lambda path, row: f"{path.stem}:{row['example_id']}", limit=limit
    )


def binary(severity: str) -> str:
    return "yes" if severity in ABUSIVE else "no"


def strict_majority(values: Sequence[str]) -> str | None:
    value, count = Counter(values).most_common(1)[0]
    return value if count * 2 > len(values) else None


def direct_alpha(utterances: Sequence[Utterance], as_binary: bool) -> float:
    """Krippendorff's alpha straight from the CSV: an 8 x N raters-by-units matrix."""
    import krippendorff
    import numpy as np

    codes = {v: i for i, v in enumerate(SEVERITY.values())}
    matrix = np.full((N_ANNOTATORS, len(utterances)), np.nan)
    for j, u in enumerate(utterances):
        for a, label in u.labels.items():
            matrix[a - 1, j] = (label in ABUSIVE) if as_binary else codes[label]
    return float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"))


def build_campaign(utterances: Sequence[Utterance], name: str = "ConvAbuse") -> Any:
    """A campaign with one item per utterance and the 8 annotators as members."""
    from django.contrib.auth import get_user_model

    from generation.models import CandidateModel
    from labeling.campaigns.services import (
        NewItem,
        campaign_create,
        campaign_update,
        items_create,
        membership_set,
        prompts_import,
    )
    from labeling.models import Prompt

    users = get_user_model().objects
    owner, _ = users.get_or_create(username="convabuse-admin")
    # The replay skips every item an annotator did not label in ConvAbuse: far more than the
    # default skip cap (60 an hour) that keeps real annotators from paging through prompts.
    campaign = campaign_create(
        user=owner, name=name, rubric=RUBRIC, overlap=N_ANNOTATORS, skip_limit_per_hour=10_000
    )
    lines = [
        json.dumps({"id": u.example_id, "text": f"[{u.example_id}] {u.agent}", "category": u.bot})
        for u in utterances
    ]
    prompts_import(campaign=campaign, data="\n".join(lines), fmt="jsonl")
    prompt_ids = dict(Prompt.objects.filter(campaign=campaign).values_list("external_id", "id"))
    model, _ = CandidateModel.objects.get_or_create(
        name="convabuse-users", defaults={"backend": CandidateModel.Backend.IMPORTED}
    )
    new = [
        NewItem(prompt_id=prompt_ids[u.example_id], sample_index=0, text=u.user) for u in utterances
    ]
    items_create(campaign=campaign, model_id=model.pk, params_hash="convabuse", new_items=new)
    campaign = campaign_update(campaign=campaign, data={"status": "labeling"})
    for a in range(1, N_ANNOTATORS + 1):
        user, _ = users.get_or_create(username=f"convabuse-annotator-{a}")
        membership_set(campaign=campaign, user=user, role="annotator")
    return campaign


def replay(campaign: Any, utterances: Sequence[Utterance]) -> dict[str, int]:
    """Each annotator takes `next` until the queue is empty: submit their label, or skip."""
    from django.contrib.auth import get_user_model

    from labeling.models import Item
    from labeling.queue.services import annotation_submit, assignment_next, assignment_skip

    by_text_prompt = {
        pk: ext
        for pk, ext in Item.objects.filter(campaign=campaign).values_list(
            "id", "prompt__external_id"
        )
    }
    labels = {u.example_id: u.labels for u in utterances}
    counts = Counter[str]()
    for a in range(1, N_ANNOTATORS + 1):
        user = get_user_model().objects.get(username=f"convabuse-annotator-{a}")
        while (lease := assignment_next(campaign=campaign, user=user)) is not None:
            given = labels[by_text_prompt[lease.item_id]].get(a)
            if given is None:
                assignment_skip(assignment_id=lease.pk, user=user)
                counts["skipped"] += 1
            else:
                annotation_submit(assignment_id=lease.pk, user=user, values={"abuse": given})
                counts["submitted"] += 1
    return dict(counts)


def assay_binary_alpha(campaign: Any) -> float | None:
    """Assay's alpha function on the stored annotations, mapped to abusive vs not."""
    from labeling.models import Annotation
    from labeling.quality.stats.agreement import alpha_for

    units: dict[int, list[str]] = {}
    for item_id, values in Annotation.objects.filter(item__campaign=campaign).values_list(
        "item_id", "values"
    ):
        units.setdefault(item_id, []).append(binary(values["abuse"]))
    multi = {i: a for i, a in units.items() if len(a) >= 2}
    return alpha_for(BINARY_DIM, multi, samples=200).alpha


def consensus_agreement(campaign: Any, utterances: Sequence[Utterance]) -> dict[str, Any]:
    """The stored consensus against the dataset's own strict majority."""
    from labeling.models import Consensus

    ext = dict(
        Consensus.objects.filter(campaign=campaign, dimension="abuse").values_list(
            "item__prompt__external_id", "value"
        )
    )
    methods = Counter(Consensus.objects.filter(campaign=campaign).values_list("method", flat=True))
    sev_hits = sev_n = bin_hits = bin_n = 0
    for u in utterances:
        got = ext.get(u.example_id)
        if got is None:
            continue
        sev = strict_majority(list(u.labels.values()))
        if sev is not None:
            sev_n += 1
            sev_hits += got == sev
        bmaj = strict_majority([binary(v) for v in u.labels.values()])
        if bmaj is not None:
            bin_n += 1
            bin_hits += binary(got) == bmaj
    return {
        "methods": dict(methods),
        "items": len(ext),
        "abusive_share": sum(binary(v) == "yes" for v in ext.values()) / max(len(ext), 1),
        "agree_severity": sev_hits / sev_n if sev_n else None,
        "n_severity_majority": sev_n,
        "agree_binary": bin_hits / bin_n if bin_n else None,
        "n_binary_majority": bin_n,
    }


def refit_with(campaign: Any, method: str) -> dict[str, Any]:
    from labeling.models import Campaign
    from labeling.quality.consensus import consensus_refit

    Campaign.objects.filter(pk=campaign.pk).update(consensus_method=method)
    started = time.perf_counter()
    summary = consensus_refit(campaign_id=campaign.pk)
    assert summary is not None, "another refit held the campaign"
    return {**summary, "wall_s": time.perf_counter() - started}


def evaluate(campaign: Any, utterances: Sequence[Utterance]) -> dict[str, Any]:
    """Refit with majority and with Dawid-Skene; alpha from the report and directly."""
    from labeling.models import QualityState
    from labeling.quality.stats.fit import fit_choice

    # Warm the imports (pandas, crowd-kit) once, as a long-lived worker would have them.
    fit_choice([(0, 0, "a"), (0, 1, "a")], ["a", "b"], "majority", {})
    majority = refit_with(campaign, "majority")
    majority_agreement = consensus_agreement(campaign, utterances)
    ds = refit_with(campaign, "dawid_skene")
    ds_agreement = consensus_agreement(campaign, utterances)
    report = QualityState.objects.get(campaign=campaign).report
    severity = report["dimensions"]["abuse"]
    return {
        "alpha": {
            "binary": assay_binary_alpha(campaign),
            "severity": severity["alpha"],
            "severity_ci95": severity["ci95"],
            "severity_by_bot": {k: v["alpha"] for k, v in severity["by_category"].items()},
            "direct_binary": direct_alpha(utterances, as_binary=True),
            "direct_severity": direct_alpha(utterances, as_binary=False),
        },
        "consensus": {
            "dawid_skene": {**ds_agreement, "fit_method": ds["methods"]["abuse"]},
            "majority": {**majority_agreement, "fit_method": majority["methods"]["abuse"]},
        },
        "refit_s": ds["seconds"],
        "refit_majority_s": majority["seconds"],
        "refit_with_report_s": ds["wall_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None, help="first N utterances only")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    var_dir = tempfile.mkdtemp(prefix="assay-convabuse-")
    try:
        setup_django(ASSAY_VAR_DIR=var_dir, CELERY_TASK_ALWAYS_EAGER="false")
        utterances = read_utterances([args.data / f for f in FILES], args.limit)
        t0 = time.perf_counter()
        campaign = build_campaign(utterances)
        counts = replay(campaign, utterances)
        replay_s = time.perf_counter() - t0
        result = evaluate(campaign, utterances)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    a = result["alpha"]
    result.update(
        {
            "data": {
                "utterances": len(utterances),
                "labels": sum(len(u.labels) for u in utterances),
                **counts,
            },
            "replay_s": replay_s,
            "load_average_1m": os.getloadavg()[0],
            "alpha_matches_direct": abs(a["binary"] - a["direct_binary"]) < 1e-9
            and abs(a["severity"] - a["direct_severity"]) < 1e-9,
        }
    )
    _print(result)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


def _print(r: dict[str, Any]) -> None:
    a, c = r["alpha"], r["consensus"]
    print(
        f"ConvAbuse train+valid: {r['data']['utterances']} utterances, {r['data']['labels']} labels"
    )
    print(f"{'':28}{'Assay':>10}{'krippendorff':>14}")
    print(f"{'alpha binary (nominal)':28}{a['binary']:>10.4f}{a['direct_binary']:>14.4f}")
    print(f"{'alpha severity (nominal)':28}{a['severity']:>10.4f}{a['direct_severity']:>14.4f}")
    lo, hi = a["severity_ci95"]
    print(f"  severity 95% bootstrap CI [{lo:.4f}, {hi:.4f}]; by bot {a['severity_by_bot']}")
    print(f"{'consensus':28}{'binary':>10}{'severity':>10}")
    for name in ("dawid_skene", "majority"):
        row = c[name]
        print(
            f"  {name + ' (' + row['fit_method'] + ')':26}{row['agree_binary']:>10.4f}"
            f"{row['agree_severity']:>10.4f}"
        )
    print(
        f"refit (DS) {r['refit_s']:.3f} s; majority {r['refit_majority_s']:.3f} s; "
        f"replay {r['replay_s']:.1f} s"
    )


if __name__ == "__main__":
    main()
