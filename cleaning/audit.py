"""The human audit of a cleaning job: a stratified random sample labeled blind, and what it says.

Strata: removed documents, masked spans (one per sampled document, in its context) and kept
documents (neither removed nor masked). Annotators see only the original text, in shuffled
order, with the rubric of the classifiers' campaign: nothing on the item says which stratum it
came from (that is kept in AuditSample, beside the item id).

Estimates, with 95% intervals:
- removal precision: share of sampled removed documents humans call harmful (Wilson);
- masking precision: share of sampled masked spans humans call harmful (Wilson);
- residual harm rate: share of sampled kept documents humans call harmful (Wilson);
- at other thresholds, the same quantities re-read from the sample with each unit weighted by
  its stratum's inverse inclusion probability (a stratified ratio estimator with a linearized
  variance and a normal interval), since a document kept at the job's threshold may be removed
  at a lower one.
"""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from cleaning import corpus
from cleaning.models import AuditSample, CleaningJob
from core.errors import DomainError
from generation.models import CandidateModel
from labeling.campaigns.services import (
    NewItem,
    campaign_create,
    campaign_update,
    items_create,
    prompts_import,
)
from labeling.models import Campaign
from labeling.quality.selectors import labeled_items, positive_values
from labeling.scores.stats.intervals import normal_interval, wilson_interval

INSTRUCTIONS = (
    "Each text comes from a corpus being checked for harmful content. Read it and rate it with "
    "the rubric as you would any output; mark the harmful spans you see."
)
SWEEP_POINTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _candidates(job: CleaningJob) -> dict[str, list[dict[str, Any]]]:
    """Per stratum, every document's row, scores and masked spans (from the attributes)."""
    out: dict[str, list[dict[str, Any]]] = {"removed": [], "masked": [], "kept": []}
    stratum = {"remove": "removed", "mask": "masked", "keep": "kept"}
    for path in sorted((Path(job.output_dir) / "attributes").glob("shard-*.jsonl")):
        with path.open("rb") as fh:
            for line in fh:
                a = json.loads(line)
                if a["decision"] not in stratum:
                    continue
                spans = a.get("spans", [])
                out[stratum[a["decision"]]].append(
                    {
                        "row": a["row"],
                        "id": a["id"],
                        "doc_score": max(
                            (s["positive"] for s in a.get("scores", {}).values()), default=0.0
                        ),
                        "max_span": max((s["score"] for s in spans), default=None),
                        "masked": [s for s in spans if s.get("masked")],
                    }
                )
    return out


def _texts(job: CleaningJob, rows: set[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    row = 0
    for batch in corpus.read_rows(Path(job.input_path), job.input_format, 0, job.total_docs):
        for record in batch:
            if row in rows:
                found[row] = str(record.get(job.text_field, ""))
            row += 1
        if len(found) == len(rows):
            break
    return found


def _rubric_source(job: CleaningJob) -> Campaign | None:
    ids = [d["campaign"] for d in job.document_classifiers if d.get("target") == "harm"]
    ids += [d["campaign"] for d in job.document_classifiers]
    ids += [job.tagger["campaign"]] if job.tagger else []
    return Campaign.objects.select_related("rubric").filter(pk__in=ids[:1]).first()


def audit_open(
    *,
    job: CleaningJob,
    user: User,
    removed: int = 50,
    masked: int = 50,
    kept: int = 100,
    overlap: int = 3,
    context_chars: int = 300,
    seed: int = 0,
) -> Campaign:
    """Draw the sample and open a labeling campaign for it; one audit per job."""
    if job.status != CleaningJob.Status.SUCCEEDED:
        raise DomainError("the job has not finished", code="job_not_finished", status_code=409)
    if job.audit_campaign_id is not None:
        raise DomainError("this job has an audit already", code="audit_exists", status_code=409)
    rng = random.Random(seed)
    cands = _candidates(job)
    want = {"removed": removed, "masked": masked, "kept": kept}
    picks: list[tuple[str, dict[str, Any], float]] = []
    for stratum, pool in cands.items():
        chosen = rng.sample(pool, min(want[stratum], len(pool)))
        weight = len(pool) / len(chosen) if chosen else 0.0
        picks += [(stratum, c, weight) for c in chosen]
    if not picks:
        raise DomainError("nothing to audit: the strata are empty", field="removed")
    rng.shuffle(picks)  # the order says nothing about the stratum either
    texts = _texts(job, {c["row"] for _, c, _ in picks})
    source = _rubric_source(job)
    with transaction.atomic():
        campaign = campaign_create(
            user=user,
            name=f"Audit of cleaning job {job.pk} ({job.name})"[:200],
            instructions=INSTRUCTIONS,
            rubric=source.rubric.schema if source else None,
            overlap=overlap,
        )
        model, _ = CandidateModel.objects.get_or_create(
            name=f"Cleaning job {job.pk} corpus", defaults={"backend": "imported"}
        )
        lines = [json.dumps({"id": f"t{n}", "text": f"Text {n + 1}"}) for n in range(len(picks))]
        prompts_import(campaign=campaign, data="\n".join(lines), fmt="jsonl", user=user)
        prompt_ids = dict(campaign.prompts.values_list("external_id", "id"))
        new, samples = [], []
        for n, (stratum, c, weight) in enumerate(picks):
            text = texts.get(c["row"], "")
            span_score = None
            if stratum == "masked" and c["masked"]:
                s = rng.choice(c["masked"])
                span_score = s["score"]
                lo, hi = max(0, s["start"] - context_chars), s["end"] + context_chars
                text = text[lo:hi]
            new.append(NewItem(prompt_id=prompt_ids[f"t{n}"], sample_index=0, text=text))
            samples.append((stratum, c, weight, span_score, f"t{n}"))
        items_create(campaign=campaign, model_id=model.pk, params_hash="audit", new_items=new)
        item_of = dict(campaign.items.values_list("prompt__external_id", "id"))
        AuditSample.objects.bulk_create(
            AuditSample(
                job=job,
                item_id=item_of[key],
                stratum=stratum,
                doc_id=str(c["id"])[:500],
                weight=weight,
                doc_score=c["doc_score"],
                span_score=span_score,
                max_span_score=c["max_span"],
            )
            for stratum, c, weight, span_score, key in samples
        )
        campaign = campaign_update(campaign=campaign, data={"status": "labeling"})
        CleaningJob.objects.filter(pk=job.pk).update(audit_campaign_id=campaign.pk)
        job.audit_campaign_id = campaign.pk
    return campaign


def _rate(k: int, n: int) -> dict[str, Any]:
    low, high = wilson_interval(k, n)
    return {"estimate": k / n if n else None, "low": low, "high": high, "k": k, "n": n}


def _ratio(units: list[tuple[str, float, bool]], sizes: dict[str, int]) -> dict[str, Any]:
    """Stratified ratio estimate of P(harmful | selected) from (stratum, weight, harmful) of
    the sampled units selected; linearized variance with finite-population correction."""
    if not units:
        return {"estimate": None, "low": 0.0, "high": 1.0, "n": 0}
    total_w = sum(w for _, w, _ in units)
    r = sum(w * y for _, w, y in units) / total_w
    by: dict[str, list[float]] = defaultdict(list)
    for stratum, _, y in units:
        by[stratum].append(float(y) - r)
    var = 0.0
    for stratum, resid in by.items():
        # All sampled units of the stratum count toward n_h; unselected ones contribute 0.
        n_h = sizes["n_" + stratum]
        big_n = sizes[stratum]
        if n_h < 2:
            continue
        z = resid + [0.0] * (n_h - len(resid))
        mean = sum(z) / n_h
        s2 = sum((v - mean) ** 2 for v in z) / (n_h - 1)
        var += big_n**2 * (1 - n_h / big_n) * s2 / n_h
    var /= total_w**2
    low, high = normal_interval(r, var, bounds=(0.0, 1.0))
    return {"estimate": r, "low": low, "high": high, "n": len(units)}


def audit_results(job: CleaningJob) -> dict[str, Any]:
    """The audit's estimates from the labels so far (consensus, else majority vote)."""
    if job.audit_campaign_id is None:
        raise DomainError("this job has no audit", code="no_audit", status_code=404)
    campaign = Campaign.objects.select_related("rubric").get(pk=job.audit_campaign_id)
    positive = set(positive_values(campaign, "harm")) or {"unsafe"}
    harmful = {
        li.item_id: li.value in positive
        for li in labeled_items(campaign=campaign, dimension="harm")
    }
    samples = list(AuditSample.objects.filter(job=job))
    sampled: dict[str, int] = defaultdict(int)
    for a in samples:
        sampled[a.stratum] += 1
    labeled = [a for a in samples if a.item_id in harmful]
    count: dict[str, list[int]] = {s: [0, 0] for s in ("removed", "masked", "kept")}
    for a in labeled:
        count[a.stratum][0] += harmful[a.item_id]
        count[a.stratum][1] += 1
    sizes: dict[str, int] = {}
    for a in samples:
        sizes[a.stratum] = round(a.weight * sampled[a.stratum])
    for s in ("removed", "masked", "kept"):
        sizes.setdefault(s, 0)
        sizes["n_" + s] = sum(1 for a in labeled if a.stratum == s)
    sweep = []
    for t in SWEEP_POINTS:
        docs = [a for a in labeled if a.stratum in ("removed", "kept")]
        sel = [(a.stratum, a.weight, harmful[a.item_id]) for a in docs if a.doc_score >= t]
        rest = [(a.stratum, a.weight, harmful[a.item_id]) for a in docs if a.doc_score < t]
        sweep.append(
            {
                "threshold": t,
                "removal_precision": _ratio(sel, sizes),
                "residual_harm_rate": _ratio(rest, sizes),
                "removed_share": _share(docs, t),
            }
        )
    return {
        "campaign_id": campaign.pk,
        "sampled": dict(sampled),
        "labeled": {s: c[1] for s, c in count.items()},
        "removal_precision": _rate(*count["removed"]),
        "masking_precision": _rate(*count["masked"]),
        "residual_harm_rate": _rate(*count["kept"]),
        "sweep": sweep,
        "method": "Wilson 95% intervals per stratum at the job's thresholds; at other "
        "thresholds a stratum-weighted ratio estimator with a linearized variance (normal "
        "95% interval). Kept = neither removed nor masked. The sweep moves the removal "
        "threshold of every document classifier together (on the largest P(positive)).",
    }


def _share(docs: list[AuditSample], t: float) -> float | None:
    total = sum(a.weight for a in docs)
    if total == 0 or math.isnan(total):
        return None
    return sum(a.weight for a in docs if a.doc_score >= t) / total
