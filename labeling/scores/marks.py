"""Slice marks: a digest of everything one summary slice is computed from.

A slice (model, split, category) is a union of cells (model, public or private, category).
Every item gets a 64-bit digest of its inputs (each per-item array of CampaignData, its
consensus values, its ratings in order); a cell's digest is the wrapping sum of its items'
mixed (id, digest); a slice's mark hashes the sum over its cells with the campaign-wide inputs
(the rubric, the scalar settings on CampaignData, the summary code itself). Equal marks mean
equal inputs, so the rows computed before are the rows a full recompute would write.

Generic on purpose: a per-item array or list added to CampaignData is covered without a
change here, and anything else added to it counts as campaign-wide (a change recomputes every
slice); only inputs a slice reads from outside its items are listed (_global_inputs).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from labeling.scores.stats.dimensions import CampaignData, Labels, Ratings

U64 = npt.NDArray[np.uint64]
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: Any) -> U64:
    """splitmix64's finalizer: a well-spread 64-bit hash of each element (wrapping math)."""
    z = np.asarray(x, dtype=np.uint64) + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _salt(text: str) -> np.uint64:
    return np.uint64(int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big"))


def _bits(a: Any) -> U64:
    """Per row of `a`, its values as uint64 (floats by bit pattern, every NaN alike)."""
    arr = np.asarray(a)
    if arr.dtype.kind == "f":
        f = np.where(np.isnan(arr), np.nan, arr.astype(np.float64)) + 0.0  # -0.0 -> 0.0
        return f.view(np.uint64)
    if arr.dtype.kind in "biu":
        return arr.astype(np.int64).view(np.uint64)
    return np.array([_value_digest(v) for v in arr.tolist()], dtype=np.uint64)


_STR_DIGESTS: dict[str, int] = {}


def _value_digest(value: Any) -> int:
    if isinstance(value, str):
        known = _STR_DIGESTS.get(value)
        if known is None:
            known = _digest_of(value)
            if len(_STR_DIGESTS) < 10_000:
                _STR_DIGESTS[value] = known
        return known
    if isinstance(value, list) and not value:
        return _EMPTY_LIST
    return _digest_of(value)


def _digest_of(value: Any) -> int:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    prefix = "s" if isinstance(value, str) else "j"
    return int.from_bytes(hashlib.blake2b((prefix + text).encode(), digest_size=8).digest(), "big")


_EMPTY_LIST = _digest_of([])


def _fold_columns(h: U64, salt: np.uint64) -> U64:
    """One uint64 per row from an (n,) or (n, k) array of uint64."""
    if h.ndim == 1:
        return _mix(h ^ salt)
    out: U64 = np.full(h.shape[0], salt, dtype=np.uint64)
    for col in range(h.shape[1]):
        out = _mix(out ^ h[:, col])
    return out


def _labels_digest(name: str, labels: Labels, n: int) -> U64:
    values = np.array([_value_digest(v) for v in labels.values], dtype=np.uint64)
    rows = _mix(values ^ _salt("consensus:" + name))
    out = np.zeros(n, dtype=np.uint64)
    np.add.at(out, np.asarray(labels.pos, dtype=np.int64), rows)
    return out


def _ratings_digest(name: str, ratings: Ratings, n: int) -> U64:
    # The order of an item's ratings is an input (the annotator redraw picks by offset).
    pos = np.asarray(ratings.pos, dtype=np.int64)
    order = np.argsort(pos, kind="stable")
    sorted_pos = pos[order]
    starts = np.flatnonzero(np.r_[True, sorted_pos[1:] != sorted_pos[:-1]][: len(pos)])
    rank = np.arange(len(pos)) - np.repeat(starts, np.diff(np.r_[starts, len(pos)]))
    offset = np.empty(len(pos), dtype=np.int64)
    offset[order] = rank
    rows = _mix(_bits(ratings.values) ^ _mix(offset.astype(np.uint64) ^ _salt("ratings:" + name)))
    out = np.zeros(n, dtype=np.uint64)
    np.add.at(out, pos, rows)
    return out


def item_digests(data: CampaignData) -> U64:
    """One uint64 per item of everything CampaignData holds about it."""
    n = len(data.item_ids)
    out = _mix(np.asarray(data.item_ids, dtype=np.int64).view(np.uint64))
    for f in dataclasses.fields(data):
        value = getattr(data, f.name)
        salt = _salt("field:" + f.name)
        if f.name == "cache" or value is None:
            continue
        if isinstance(value, np.ndarray | list) and len(value) == n:
            bits = _bits(value)
            out = _mix(out ^ _fold_columns(bits.reshape(n, -1) if bits.ndim > 1 else bits, salt))
        elif f.name == "consensus":
            for name in sorted(value):
                out = out + _labels_digest(name, value[name], n)
        elif f.name == "ratings":
            for name in sorted(value):
                out = out + _ratings_digest(name, value[name], n)
    return out


@lru_cache(maxsize=1)
def code_digest() -> str:
    """The summary's own code: a deploy that changes how scores are computed recomputes all."""
    here = Path(__file__).resolve().parent
    h = hashlib.blake2b(digest_size=16)
    for path in sorted([here / "summary.py", here / "harm.py", *(here / "stats").glob("*.py")]):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _global_inputs(data: CampaignData, schema: dict[str, Any]) -> str:
    """What a slice's rows read from outside its own items, as text."""
    scalars: dict[str, Any] = {}
    n = len(data.item_ids)
    for f in dataclasses.fields(data):
        value = getattr(data, f.name)
        if f.name in ("cache", "consensus", "ratings"):
            continue
        if isinstance(value, bool | int | float | str) or value is None:
            scalars[f.name] = value
        elif not (isinstance(value, np.ndarray | list) and len(value) == n):
            # Anything else on CampaignData (not per item): a change recomputes every slice.
            scalars[f.name] = hashlib.blake2b(pickle.dumps(value, protocol=5)).hexdigest()
    # _ppi refuses for every slice when no item has an out-of-fold prediction.
    oof, prob = data.harm_probability_oof, data.harm_probability
    predicted = ~np.isnan(prob) if prob is not None else np.zeros(0, dtype=bool)
    no_oof = oof is None or bool(np.isnan(oof[predicted]).all())
    return json.dumps(
        {"schema": schema, "scalars": scalars, "no_oof": no_oof, "code": code_digest()},
        sort_keys=True,
        default=str,
    )


def slice_marks(
    data: CampaignData, schema: dict[str, Any], slices: list[tuple[int, str, str, Any]]
) -> dict[tuple[int, str, str], str]:
    """The mark of every (model, split, category) slice in `slices` (summary._slices)."""
    n = len(data.item_ids)
    if n == 0:
        return {}
    mixed = _mix(item_digests(data) ^ _mix(np.asarray(data.item_ids).astype(np.uint64)))
    names, codes = np.unique(np.array(data.category, dtype=object), return_inverse=True)
    models, model_idx = np.unique(data.model, return_inverse=True)
    n_cells = len(models) * 2 * len(names)
    cell = (model_idx.reshape(-1) * 2 + data.private.astype(np.int64)) * len(names) + codes
    cell = cell.reshape(-1)
    sums = np.zeros(n_cells, dtype=np.uint64)
    np.add.at(sums, cell, mixed)
    counts = np.bincount(cell, minlength=n_cells).reshape(len(models), 2, len(names))
    sums3 = sums.reshape(len(models), 2, len(names))
    code_of = {str(name): i for i, name in enumerate(names.tolist())}
    model_of = {int(m): i for i, m in enumerate(models.tolist())}
    base = _global_inputs(data, schema).encode()
    out = {}
    for model_id, split, category, _ in slices:
        m = model_of[model_id]
        privs = slice(None) if split == "all" else ([1] if split == "private" else [0])
        cats = slice(None) if category == "" else [code_of[category]]
        total = int(np.sum(sums3[m][privs][:, cats], dtype=np.uint64))
        count = int(counts[m][privs][:, cats].sum())
        h = hashlib.blake2b(base, digest_size=16)
        h.update(f"|{model_id}|{split}|{category}|{total}|{count}".encode())
        out[(model_id, split, category)] = h.hexdigest()
    return out
