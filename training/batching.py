"""Tokenising once (cached by `datasets`), length-grouped batch plans, dynamic padding.

A batch plan depends only on (seed, epoch), so a resumed run replays the same order.
"""

import random
from pathlib import Path

import numpy as np
import torch
from datasets import Features, List, Value
from tqdm.auto import tqdm

from cvguard.normalize import normalize_text
from cvguard.training.model import settings_of
from cvguard.windows import default_window_stride, windows_of


def encode_texts(tokenizer, texts: list[str], max_length: int, normalize: bool = False) -> list[list[int]]:
    """Token ids per text; `normalize` runs the runtime's own normalize_text first (one code path)."""
    texts = [normalize_text(t) for t in texts] if normalize else list(texts)
    return tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]


def tokenize_split(ds, tokenizer, max_length: int, normalize: bool, cache_file: Path):
    """A split's token ids and lengths as a memory-mapped Dataset, made by `Dataset.map` once and read from
    `cache_file` afterwards (its name must change with the tokenizer, max_length and normalize settings)."""
    def encode(batch):
        ids = encode_texts(tokenizer, batch["text"], max_length, normalize)
        return {"input_ids": ids, "length": [len(x) for x in ids]}

    features = Features({"input_ids": List(Value("int32")), "length": Value("int32")})
    return ds.map(encode, batched=True, remove_columns=ds.column_names, features=features,
                  cache_file_name=str(cache_file), new_fingerprint=cache_file.stem, desc="tokenise")


def plan_batches(lengths: list[int], batch_size: int, seed: int, epoch: int, group_by_length: bool = True,
                 pool_batches: int = 50) -> list[list[int]]:
    """Shuffles, then (optionally) sorts within pools of `pool_batches` batches by length, so each batch
    holds texts of similar length and pads little, while the batch order stays random."""
    rng = random.Random(seed * 100_003 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    if group_by_length:
        pool = batch_size * pool_batches
        order = [i for start in range(0, len(order), pool)
                 for i in sorted(order[start:start + pool], key=lambda i: lengths[i])]
    batches = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    if group_by_length:
        rng.shuffle(batches)
    return batches


def collate(input_ids: list[list[int]], pad_id: int, labels: np.ndarray | None = None) -> dict:
    width = max(len(ids) for ids in input_ids)
    ids = torch.full((len(input_ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(input_ids), width), dtype=torch.long)
    for row, seq in enumerate(input_ids):
        ids[row, :len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, :len(seq)] = 1
    batch = {"input_ids": ids, "attention_mask": mask}
    if labels is not None:
        batch["labels"] = torch.from_numpy(labels)
    return batch


@torch.no_grad()
def predict_probs(model, tokenizer, texts: list[str], batch_size: int = 64, device: str | torch.device = "cpu",
                  progress: bool = False) -> np.ndarray:
    """Sigmoid probabilities, rows in the order of `texts`; sorted by length inside to pad less. Tokenised and
    normalised as the model's own settings say, so training, evaluation and export all score alike."""
    model.eval()
    settings = settings_of(model)
    encoded, owner = encode_for_scoring(tokenizer, texts, settings)
    order = np.argsort([len(ids) for ids in encoded], kind="stable")
    logits = np.full((len(texts), model.config.num_labels), -np.inf, dtype=np.float32)
    starts = range(0, len(order), batch_size)
    for start in tqdm(starts, desc="predict", disable=not progress, leave=False):
        idx = order[start:start + batch_size]
        batch = collate([encoded[i] for i in idx], tokenizer.pad_token_id)
        out = model(input_ids=batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device)).logits
        # a text's score is the max over its windows, as in the runtime (sigmoid is monotonic)
        np.maximum.at(logits, owner[idx], out.float().cpu().numpy())
    return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def encode_for_scoring(tokenizer, texts: list[str], settings) -> tuple[list[list[int]], np.ndarray]:
    """Token id rows to score and, per row, the index of its text: one row per text when truncating, one
    per window (cvguard/windows.py) when the model scores long texts by windows, exactly as the runtime."""
    if settings.long_texts == "truncate":
        return encode_texts(tokenizer, texts, settings.max_length, settings.normalize), np.arange(len(texts))
    texts = [normalize_text(t) for t in texts] if settings.normalize else list(texts)
    encodings = tokenizer(texts, truncation=False, return_special_tokens_mask=True, verbose=False)
    rows, owner = windows_of(encodings["input_ids"], encodings["special_tokens_mask"], settings.max_length,
                             settings.window_stride or default_window_stride(settings.max_length))
    return rows, np.array(owner, dtype=np.int64)
