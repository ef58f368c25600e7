"""Reads configs/taxonomy.yaml, the one source of truth for labels and groups."""

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import yaml

UNKNOWN = -1.0  # a label's value in tensors and arrays when it is not known; the loss and metrics skip it


def label_matrix(rows: list[dict], labels: list[str]) -> np.ndarray:
    """Rows x labels, float32, with UNKNOWN where a label is not known (None in the data)."""
    return np.array([[UNKNOWN if r["labels"].get(name) is None else float(r["labels"][name]) for name in labels]
                     for r in rows], dtype=np.float32).reshape(len(rows), len(labels))


@dataclass(frozen=True)
class Taxonomy:
    labels: tuple[str, ...]  # overall label first, then the seven categories
    categories: tuple[str, ...]
    groups: tuple[str, ...]
    protected_groups: tuple[str, ...]
    names: dict  # id -> {"zh": ..., "en": ..., "definition": ...}

    @property
    def overall(self) -> str:
        return self.labels[0]


@lru_cache(maxsize=1)
def load_taxonomy() -> Taxonomy:
    raw = yaml.safe_load((resources.files("cvguard.configs") / "taxonomy.yaml").read_text(encoding="utf-8"))
    overall = raw["overall"]
    categories = raw["categories"]
    names = {entry["id"]: {k: entry.get(k, "") for k in ("zh", "en", "definition")}
             for entry in [overall, *categories, *raw["groups"]]}
    return Taxonomy(
        labels=(overall["id"], *(c["id"] for c in categories)),
        categories=tuple(c["id"] for c in categories),
        groups=tuple(g["id"] for g in raw["groups"]),
        protected_groups=tuple(g["id"] for g in raw["groups"] if g.get("protected")),
        names=names,
    )
