"""What goes into the zipped exports: each writer returns `write(bundle, workdir)`, which puts
its files into the open zip, batch by batch, using `workdir` for scratch files."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.errors import DomainError
from core.text import utf8
from labeling.exports import formats, label_studio
from labeling.exports.rows import columns, export_rows
from labeling.models import Campaign

Writer = Callable[[zipfile.ZipFile, Path], None]


def parquet_writer(campaign: Campaign, opts: dict[str, Any]) -> Writer:
    schema = campaign.rubric.schema

    def write(bundle: zipfile.ZipFile, workdir: Path) -> None:
        path = workdir / "annotations.parquet"
        rows = export_rows(campaign, include_private=opts["include_private"])
        formats.parquet_write(rows, path, columns(schema), schema)
        bundle.write(path, "annotations.parquet")

    return write


def hf_writer(campaign: Campaign, opts: dict[str, Any]) -> Writer:
    schema = campaign.rubric.schema

    def write(bundle: zipfile.ZipFile, workdir: Path) -> None:
        target = workdir / "dataset"
        formats.hf_dataset_save(
            lambda: export_rows(campaign, include_private=opts["include_private"]),
            target,
            columns(schema),
            schema,
            workdir,
        )
        for path in sorted(target.rglob("*")):
            if path.is_file():
                bundle.write(path, f"dataset/{path.relative_to(target)}")

    return write


def label_studio_writer(campaign: Campaign, opts: dict[str, Any]) -> Writer:
    config = label_studio.rubric_to_config(campaign.rubric.schema)
    interface = label_studio.label_interface(config)

    def write(bundle: zipfile.ZipFile, workdir: Path) -> None:
        bundle.writestr("config.xml", utf8(config))
        problems: list[str] = []
        with bundle.open("tasks.json", "w") as out:
            out.write(b"[")
            tasks = label_studio.export_tasks(campaign, include_private=opts["include_private"])
            for i, task in enumerate(tasks):
                for ann in task["annotations"] + task["predictions"]:
                    errors = interface.validate_prediction(ann, return_errors=True)
                    problems.extend(f"task {task['id']}: {e}" for e in errors)
                out.write((b"," if i else b"") + utf8(json.dumps(task, ensure_ascii=False)))
            out.write(b"]")
        if problems:
            raise DomainError(
                "the Label Studio tasks do not validate", errors={"tasks": problems[:20]}
            )

    return write
