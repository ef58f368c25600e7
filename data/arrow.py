"""The splits as Arrow datasets (Hugging Face `datasets`): memory-mapped, so training reads texts, labels and
token ids from disk instead of holding a Python dict per row.

The JSONL split stays the source of truth (the report, the baseline and the tests read it). Its Arrow copy is
built from it in chunks and carries the JSONL's sha256, so a JSONL written or edited by hand is never trained
on through a stale Arrow copy: `arrow_split` rebuilds it first.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
from datasets import Dataset, DatasetInfo, Features, List, Value, load_from_disk

from cvguard.contracts import RunDir
from cvguard.io import replace_dir, sha256_of, staging_dir
from cvguard.taxonomy import label_matrix

CHUNK_ROWS = 50_000  # rows parsed into dicts at a time while converting


def split_features(labels: list[str]) -> Features:
    return Features({"text": Value("string"), "labels": List(Value("float32"), length=len(labels)),
                     "source": Value("string")})


def _chunks(path: Path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
            if len(rows) == CHUNK_ROWS:
                yield rows
                rows = []
    if rows:
        yield rows


def write_arrow_split(jsonl: Path, target: Path, labels: list[str], stamp: str) -> None:
    """JSONL -> an Arrow stream file, chunk by chunk, then `save_to_disk` from that memory-mapped file; built in a
    staging folder and renamed into place, so a kill leaves the old dataset or the new one."""
    features = split_features(labels)
    work = staging_dir(target)
    try:
        stream = work / "rows.arrow"
        with pa.OSFile(str(stream), "wb") as sink, pa.ipc.new_stream(sink, features.arrow_schema) as writer:
            for rows in _chunks(jsonl):
                y = label_matrix(rows, labels)
                writer.write_batch(pa.record_batch([
                    pa.array([r["text"] for r in rows], pa.string()),
                    pa.FixedSizeListArray.from_arrays(pa.array(y.reshape(-1), pa.float32()), len(labels)),
                    pa.array([r.get("source", "") for r in rows], pa.string())], schema=features.arrow_schema))
        Dataset.from_file(str(stream), info=DatasetInfo(description=stamp, features=features)).save_to_disk(
            str(work / "dataset"))
        replace_dir(work / "dataset", target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def arrow_split(run: RunDir, name: str, labels: list[str]) -> Dataset:
    """The split as a memory-mapped Dataset (columns text, labels, source), (re)built from the JSONL first when
    it is missing or was built from other JSONL content."""
    jsonl, target = run.split(name), run.split_arrow(name)
    stamp = f"{jsonl.name} sha256 {sha256_of(jsonl)}"
    if not (target.is_dir() and load_from_disk(str(target)).info.description == stamp):
        write_arrow_split(jsonl, target, labels, stamp)
    return load_from_disk(str(target))


def label_array(ds: Dataset) -> np.ndarray:
    """The labels column as rows x labels float32 (UNKNOWN where unknown), read from Arrow without row dicts."""
    width = ds.features["labels"].length
    chunks = [c.flatten().to_numpy() for c in ds.data.column("labels").chunks]
    return (np.concatenate(chunks) if chunks else np.zeros(0, np.float32)).reshape(-1, width)
