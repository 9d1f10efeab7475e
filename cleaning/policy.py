"""The cleaning decision for one document, and the per-shard tallies a report is made of.

Pure Python: the same rules run in the shard task, in the preview and in the audit's threshold
sweep (the page repeats them in TypeScript for its live preview).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

BINS = 20
EXAMPLES_PER_KIND = 5


@dataclass(frozen=True)
class Policy:
    doc_thresholds: dict[str, float]  # version name -> remove at P(positive) >= threshold
    span_threshold: float | None  # None: no tagger
    mask_mode: str = "replace"  # or "delete"
    replacement: str = "[REDACTED:{label}]"


def replacement_for(policy: Policy, label: str) -> str:
    if policy.mask_mode == "delete":
        return ""
    return policy.replacement.replace("{label}", label)


def mask_text(text: str, spans: list[dict[str, Any]], policy: Policy) -> str:
    """The text with the masked spans replaced; overlapping spans merge (first label wins).
    Offsets are code points, as the rubric stores them."""
    chosen = sorted((s for s in spans if s.get("masked")), key=lambda s: (s["start"], -s["end"]))
    out, pos = [], 0
    for s in chosen:
        start, end = max(int(s["start"]), pos), int(s["end"])
        if end <= start:
            continue
        out.append(text[pos:start])
        out.append(replacement_for(policy, str(s.get("label", ""))))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def decide(
    doc_scores: dict[str, float], spans: list[dict[str, Any]], policy: Policy
) -> tuple[str, list[str]]:
    """("remove" | "mask" | "keep", the classifiers that removed it); marks spans' `masked`."""
    over = [n for n, p in doc_scores.items() if p >= policy.doc_thresholds.get(n, 2.0)]
    if over:
        for s in spans:
            s["masked"] = False
        return "remove", over
    masked = False
    for s in spans:
        s["masked"] = policy.span_threshold is not None and s["score"] >= policy.span_threshold
        masked = masked or s["masked"]
    return ("mask" if masked else "keep"), []


def _bin(p: float) -> int:
    return min(BINS - 1, max(0, int(p * BINS)))


@dataclass
class Tally:
    """What one shard contributes to the report; merged by the finalizer."""

    counts: dict[str, int] = field(default_factory=dict)
    removed_by: dict[str, int] = field(default_factory=dict)
    masked_spans_by_label: dict[str, int] = field(default_factory=dict)
    spans_by_label: dict[str, int] = field(default_factory=dict)
    doc_hist: dict[str, list[int]] = field(default_factory=dict)
    span_hist: list[int] = field(default_factory=lambda: [0] * BINS)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    bytes_in: int = 0
    bytes_out: int = 0
    seen: dict[str, int] = field(default_factory=dict)

    def add(
        self,
        *,
        decision: str,
        removed_by: list[str],
        doc_scores: dict[str, float],
        spans: list[dict[str, Any]],
        example: Callable[[], dict[str, Any]],
        rng: random.Random,
    ) -> None:
        """Count the document; `example` builds its example, called only if the reservoir
        keeps it."""
        self.counts[decision] = self.counts.get(decision, 0) + 1
        for name in removed_by:
            self.removed_by[name] = self.removed_by.get(name, 0) + 1
        for name, p in doc_scores.items():
            self.doc_hist.setdefault(name, [0] * BINS)[_bin(p)] += 1
        for s in spans:
            label = str(s.get("label", ""))
            self.spans_by_label[label] = self.spans_by_label.get(label, 0) + 1
            self.span_hist[_bin(float(s["score"]))] += 1
            if s.get("masked"):
                self.masked_spans_by_label[label] = self.masked_spans_by_label.get(label, 0) + 1
        # A reservoir per decision: examples drawn uniformly from the shard, not its first rows.
        n = self.seen[decision] = self.seen.get(decision, 0) + 1
        pool = self.examples.setdefault(decision, [])
        if len(pool) < EXAMPLES_PER_KIND:
            pool.append(example())
        else:
            j = rng.randrange(n)
            if j < EXAMPLES_PER_KIND:
                pool[j] = example()

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "removed_by": self.removed_by,
            "masked_spans_by_label": self.masked_spans_by_label,
            "spans_by_label": self.spans_by_label,
            "doc_hist": self.doc_hist,
            "span_hist": self.span_hist,
            "examples": self.examples,
            "seen": self.seen,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
        }


def _add_counts(into: dict[str, int], more: dict[str, int]) -> None:
    for k, v in more.items():
        into[k] = into.get(k, 0) + int(v)


def merge_tallies(tallies: list[dict[str, Any]], seed: int = 0) -> dict[str, Any]:
    """The job's totals from its shards' tallies; examples drawn in proportion to each shard's
    share of the decision (weighted by what each shard saw)."""
    out: dict[str, Any] = {
        "counts": {},
        "removed_by": {},
        "masked_spans_by_label": {},
        "spans_by_label": {},
        "doc_hist": {},
        "span_hist": [0] * BINS,
        "bytes_in": 0,
        "bytes_out": 0,
    }
    pools: dict[str, list[tuple[float, dict[str, Any]]]] = {}
    rng = random.Random(seed)
    for t in tallies:
        for key in ("counts", "removed_by", "masked_spans_by_label", "spans_by_label"):
            _add_counts(out[key], t.get(key, {}))
        for name, hist in t.get("doc_hist", {}).items():
            acc = out["doc_hist"].setdefault(name, [0] * BINS)
            for i, v in enumerate(hist):
                acc[i] += v
        for i, v in enumerate(t.get("span_hist", [])):
            out["span_hist"][i] += v
        out["bytes_in"] += t.get("bytes_in", 0)
        out["bytes_out"] += t.get("bytes_out", 0)
        for decision, examples in t.get("examples", {}).items():
            weight = t.get("seen", {}).get(decision, len(examples)) / max(len(examples), 1)
            for ex in examples:
                # Efraimidis-Spirakis keys: a weighted sample without replacement.
                pools.setdefault(decision, []).append((rng.random() ** (1.0 / weight), ex))
    out["examples"] = {
        d: [ex for _, ex in sorted(pool, key=lambda kv: -kv[0])[: EXAMPLES_PER_KIND * 2]]
        for d, pool in pools.items()
    }
    return out
