"""A datasheet (Markdown) for an export: what was labeled, by whom, how, and how well.

Follows "Datasheets for Datasets" (Gebru et al.) loosely: motivation and composition from the
campaign and rubric, collection from the models' revisions and decoding settings, labeling
from annotator counts, dates and agreement, and the license the exporter states.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, Min

from labeling.exports.rows import annotations_for_export
from labeling.models import Campaign, Item, QualityState, ScoreSummary


def _models_table(campaign: Campaign, include_private: bool) -> list[str]:
    items = Item.objects.filter(campaign=campaign)
    if not include_private:
        items = items.exclude(prompt__split="private")
    groups = list(
        items.values(
            "model__name", "model__backend", "model__path", "model__revision", "params_hash"
        )
        .annotate(n=Count("id"), sample=Min("id"))
        .order_by("model__name", "params_hash")
    )
    provenance = dict(
        Item.objects.filter(pk__in=[g["sample"] for g in groups]).values_list("id", "provenance")
    )
    lines = [
        "| model | backend | path | revision | decoding | engine | outputs |",
        "|---|---|---|---|---|---|---|",
    ]
    for g in groups:
        p = provenance.get(g["sample"]) or {}
        decoding = p.get("decoding") or {}
        engine = " ".join(str(p[k]) for k in ("engine", "engine_version", "dtype") if p.get(k))
        cells = [
            g["model__name"],
            g["model__backend"],
            g["model__path"] or "",
            p.get("model_revision") or g["model__revision"] or "",
            ", ".join(f"{k}={v}" for k, v in sorted(decoding.items())) or g["params_hash"],
            engine,
            str(g["n"]),
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _rubric_table(schema: dict[str, Any]) -> list[str]:
    lines = ["| dimension | type | values | applies when |", "|---|---|---|---|"]
    for dim in schema["dimensions"]:
        options = dim.get("options") or dim.get("labels") or []
        if dim["type"] == "likert":
            values = f"{dim['min']}..{dim['max']}"
        else:
            values = ", ".join(o["value"] for o in options)
        when = dim.get("show_if")
        cond = f"{when['dimension']} in {', '.join(when['in'])}" if when else ""
        lines.append(f"| {dim['name']} | {dim['type']} | {_cell(values)} | {cond} |")
    return lines


def _agreement(campaign: Campaign) -> list[str]:
    """Krippendorff's alpha per dimension from the quality report, when it has run."""
    state = QualityState.objects.filter(campaign=campaign).first()
    report = state.report if state else {}
    dims = report.get("dimensions") if isinstance(report, dict) else None
    if not dims:
        return ["Not computed yet (the quality report has not run for this campaign)."]
    lines = [
        "| dimension | level | Krippendorff's alpha | 95% interval | units |",
        "|---|---|---|---|---|",
    ]
    for name, d in dims.items():
        if not isinstance(d, dict):
            continue
        ci = d.get("ci95") or ["", ""]
        alpha = d.get("alpha")
        shown = f"{alpha:.3f}" if isinstance(alpha, int | float) else "n/a"
        interval = (
            f"{ci[0]:.3f} to {ci[1]:.3f}" if all(isinstance(x, int | float) for x in ci) else ""
        )
        lines.append(
            f"| {name} | {d.get('level', '')} | {shown} | {interval} | {d.get('n_units', '')} |"
        )
    if report.get("computed_at"):
        lines.append(f"\nComputed {report['computed_at']}.")
    return lines


def _pct(value: Any) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, int | float) else "n/a"


def _rate(block: dict[str, Any]) -> str:
    if block.get("value") is None:
        return f"none: {block.get('reason') or 'n/a'}"
    return f"{_pct(block['value'])} [{_pct(block.get('low'))}, {_pct(block.get('high'))}]"


def _harm_scores(campaign: Campaign, include_private: bool) -> list[str]:
    """Per model, the served harm rate (what the leaderboard ranks by) with its estimator,
    assumptions, sample sizes, and the rates corrected and uncorrected for annotator error.
    Without private prompts the public split's scores are shown (the others use held-out
    prompts)."""
    rows = list(
        ScoreSummary.objects.filter(
            campaign=campaign,
            dimension="harm",
            split="all" if include_private else "public",
            category="",
        )
        .select_related("model")
        .order_by("model__name")
    )
    shown = [(r, r.detail.get("estimate")) for r in rows if r.detail.get("estimate")]
    if not shown:
        return ["Not computed yet (no harm scores for this campaign)."]
    lines = [
        "| model | served (ranked by) | estimator | corrected | uncorrected "
        "| labeled / predicted |",
        "|---|---|---|---|---|---|",
    ]
    assumptions: dict[str, str] = {}
    for row, est in shown:
        assumptions[est["estimator"]] = est["assumptions"]
        for block in (est["corrected"], est["uncorrected"]):
            assumptions.setdefault(block["estimator"], block["assumptions"])
        cells = [
            row.model.name,
            f"{_rate(est)} ({est['ranked_by']})",
            est["estimator"],
            _rate(est["corrected"]),
            _rate(est["uncorrected"]),
            f"{est['n_labeled']} / {est['n_predicted']}",
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += ["", "Assumptions of each estimator:", ""]
    lines += [f"- {name}: {text}" for name, text in sorted(assumptions.items())]
    return lines


def datasheet_markdown(campaign: Campaign, *, include_private: bool, license: str, fmt: str) -> str:
    anns = annotations_for_export(campaign, include_private=include_private)
    stats = anns.aggregate(
        n=Count("id"),
        annotators=Count("annotator", distinct=True),
        items=Count("item", distinct=True),
        first=Min("created_at"),
        last=Max("created_at"),
    )
    splits = "public and private (held-out) prompts" if include_private else "public prompts only"
    parts = [
        f"# Datasheet: {campaign.name}",
        "",
        f"- Export format: {fmt}",
        f"- License: {license}",
        f"- Campaign id: {campaign.pk}; status: {campaign.status}; "
        f"created {campaign.created_at:%Y-%m-%d}",
        f"- Prompts included: {splits}",
        f"- Annotations: {stats['n']} on {stats['items']} outputs "
        f"by {stats['annotators']} annotators "
        f"(overlap target {campaign.overlap} per output; annotators appear by a numeric id only)",
        f"- Labeling dates: {_date(stats['first'])} to {_date(stats['last'])}",
        f"- Consensus method: {campaign.consensus_method}; gold rate {campaign.gold_rate}",
        "",
        "## Instructions given to annotators",
        "",
        campaign.instructions.strip() or "(none)",
        "",
        "## Rubric",
        "",
        *_rubric_table(campaign.rubric.schema),
        "",
        "## Models and decoding settings",
        "",
        *_models_table(campaign, include_private),
        "",
        "## Agreement",
        "",
        *_agreement(campaign),
        "",
        "## Harm scores",
        "",
        *_harm_scores(campaign, include_private),
        "",
        "## Columns",
        "",
        "One row per annotation: the item (prompt, split, category, model, revision, decoding, "
        "output), the annotator's numeric id and their value per dimension, and the item's "
        "consensus per dimension (`consensus_<dimension>`). Model outputs are untrusted text.",
        "",
    ]
    if fmt == "csv":
        parts += [
            "In this CSV, a text cell that starts with =, +, -, @, a tab or a carriage return "
            "has a single quote (') put in front, so that spreadsheets show it as text instead "
            "of running it as a formula; JSONL and Parquet hold the text exactly.",
            "",
        ]
    return "\n".join(parts)


def _date(value: Any) -> str:
    return value.strftime("%Y-%m-%d") if value else "n/a"
