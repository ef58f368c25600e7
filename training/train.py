"""Fine-tunes the classifier. One visible loop; accelerate makes it run on CPU, one GPU or several.

Reads the train split as a memory-mapped Arrow dataset (cvguard.data.arrow), tokenised once by `Dataset.map`
into a cache file; a step gathers its rows by index, so no Python object per training row is held.

Writes to the run folder (cvguard.contracts.RunDir):
  checkpoint        the latest training state (model, optimiser, step, data position, RNG); resumed from
  model             the checkpoint that scored best on dev: an ordinary Hugging Face folder with tokenizer
  train_log         mean loss and learning rate every few steps, dev metrics every epoch, resumptions
  pos_weight        the per-label positive weights the loss used

One optimiser step sees batch_size * grad_accum_steps rows, planned as one batch: each process takes its
slice of it and splits the slice into grad_accum_steps micro-batches. So the number of processes and the
accumulation change the memory per micro-batch, not the model that comes out.
"""

import contextlib
import hashlib
import json
import math
import random
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from accelerate import Accelerator
from accelerate.utils import gather_object, set_seed
from tqdm.auto import tqdm

from cvguard.config import RunConfig, TrainConfig
from cvguard.contracts import RunDir
from cvguard.data.arrow import arrow_split, label_array
from cvguard.evaluation.metrics import average_precision, known_columns
from cvguard.io import atomic_write, write_json
from cvguard.normalize import normalize_text
from cvguard.taxonomy import UNKNOWN, label_matrix, load_taxonomy
from cvguard.training.augment import augment_text, augment_texts
from cvguard.training.batching import collate, encode_texts, plan_batches, predict_probs, tokenize_split
from cvguard.training.model import build_model, consistency_loss, masked_bce_loss, save_model

LOG_EVERY_STEPS = 10


def learning_rate_scale(step: int, total_steps: int, warmup_steps: int) -> float:
    """Linear warm-up, then linear decay to zero."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def dev_score(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean PR-AUC over labels with both classes known on dev: the model-selection criterion."""
    scores = [average_precision(gold, p) for _, gold, p in known_columns(range(labels.shape[1]), labels, probs)]
    scores = [s for s in scores if s is not None]  # None: dev has one class only for that label
    return float(np.mean(scores)) if scores else float("nan")


def positive_weights(y: np.ndarray, labels: list[str], tc: TrainConfig) -> dict[str, float]:
    """pos_weight per label: none -> 1; auto -> negatives / positives over the rows where the label is known,
    clipped to [1, pos_weight_max] (1 where there are no positives); a mapping -> its values, 1 elsewhere."""
    setting = tc.pos_weight
    if isinstance(setting, dict):
        unknown = set(setting) - set(labels)
        if unknown:
            raise ValueError(f"train.pos_weight: unknown label(s) {sorted(unknown)}; labels are {labels}")
        return {name: float(setting.get(name, 1.0)) for name in labels}
    if setting == "none":
        return {name: 1.0 for name in labels}
    if setting != "auto":
        raise ValueError(f"train.pos_weight must be none, auto or {{label: weight}}, got {setting!r}")
    weights = {}
    for j, name in enumerate(labels):
        positives, negatives = float((y[:, j] == 1).sum()), float((y[:, j] == 0).sum())
        ratio = negatives / positives if positives else 1.0
        weights[name] = round(min(max(ratio, 1.0), tc.pos_weight_max), 4)
    return weights


def repeat_index(sources: pa.Array | pa.ChunkedArray, repeats: dict[str, int]) -> np.ndarray:
    """The row behind each training position: each row of a source named in `repeats` appears that many times,
    in place (oversampling on indices, so no row is copied)."""
    bad = {name: n for name, n in repeats.items() if not isinstance(n, int) or isinstance(n, bool) or n < 1}
    if bad:
        raise ValueError(f"train.source_repeats: expected whole numbers >= 1, got {bad}")
    missing = set(repeats) - set(pc.unique(sources).to_pylist())
    if missing:
        raise ValueError(f"train.source_repeats names source(s) with no training rows: {sorted(missing)}")
    counts = np.ones(len(sources), dtype=np.int64)
    for name, n in repeats.items():
        counts[np.asarray(pc.fill_null(pc.equal(sources, name), False))] = n
    return np.repeat(np.arange(len(sources)), counts)


def save_checkpoint(path: Path, state: dict) -> None:
    atomic_write(path, lambda f: torch.save(state, f))  # a kill mid-write leaves the previous checkpoint intact


def load_checkpoint(path: Path) -> dict:
    """weights_only: a checkpoint is tensors, numbers, strings and containers; anything else in the pickle
    (code, in a crafted file) is refused instead of run."""
    return torch.load(path, map_location="cpu", weights_only=True)


def rng_state() -> dict:
    return {"cpu": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["cpu"])
    if state["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def train(config: RunConfig) -> dict:
    run = RunDir(config.run_path)
    tc = config.train
    labels = list(load_taxonomy().labels)
    if tc.mixed_precision not in ("no", "bf16", "fp16"):
        raise ValueError(f"train.mixed_precision must be no, bf16 or fp16, got {tc.mixed_precision!r}")
    if tc.mixed_precision == "fp16" and not torch.cuda.is_available():
        raise ValueError("train.mixed_precision=fp16 needs a GPU (accelerate would silently train in fp32); "
                         "use bf16 or no on CPU")
    accelerator = Accelerator(mixed_precision=tc.mixed_precision, cpu=not torch.cuda.is_available())
    if tc.num_threads:
        torch.set_num_threads(tc.num_threads)
    set_seed(tc.seed)

    # The train split is memory-mapped Arrow: rows are read by index, never held as dicts. The main process
    # builds the Arrow copy and the token cache when missing; the others then read them.
    run.require(run.split("train"), "data CONFIG")
    with accelerator.main_process_first():
        train_ds = arrow_split(run, "train", labels)
    dev_rows = run.read_split("dev")  # small: in memory
    if not len(train_ds):
        raise ValueError(f"{run.split('train')} has no rows; check data.sources and rerun `cvguard data`")
    model, tokenizer, fresh = build_model(config.model, labels)
    normalize, max_length = config.model.normalize, config.model.max_length
    cache_key = hashlib.sha256(json.dumps([train_ds.info.description, tokenizer.backend_tokenizer.to_str(),
                                           max_length, normalize]).encode()).hexdigest()[:16]
    with accelerator.main_process_first():
        tokens = tokenize_split(train_ds, tokenizer, max_length, normalize, run.token_cache("train", cache_key))
    index = repeat_index(train_ds.data.column("source"), tc.source_repeats)  # training position -> row
    lengths = tokens.data.column("length").to_numpy()[index].tolist()
    train_y = label_array(train_ds)[index]
    epoch_ids, train_texts = None, None
    if tc.augment_prob or tc.consistency_weight:
        # Experiment switches, so they keep the in-memory path: respelled texts are tokenised as they are made.
        # Normalised once up front, so augmentation also finds the abusive words written in traditional or
        # full-width.
        texts = train_ds.data.column("text").to_pylist()
        train_texts = [normalize_text(texts[i]) if normalize else texts[i] for i in index]
    dev_y = label_matrix(dev_rows, labels)
    pos_weight = positive_weights(train_y, labels, tc)
    pos_weight_t = torch.tensor([pos_weight[n] for n in labels], device=accelerator.device)
    if accelerator.is_main_process:
        write_json(run.pos_weight, {"setting": tc.pos_weight, "weights": pos_weight})

    # Parameters the checkpoint did not have (the head, a pooler it lacked) start random and learn faster.
    pretrained = [p for n, p in model.named_parameters() if n not in fresh]
    new = [p for n, p in model.named_parameters() if n in fresh]
    optimizer = torch.optim.AdamW([
        {"params": pretrained, "lr": tc.learning_rate, "base_lr": tc.learning_rate},
        {"params": new, "lr": tc.head_learning_rate, "base_lr": tc.head_learning_rate},
    ], weight_decay=tc.weight_decay)
    model, optimizer = accelerator.prepare(model, optimizer)

    world, rank = accelerator.num_processes, accelerator.process_index
    step_rows = tc.batch_size * tc.grad_accum_steps
    steps_per_epoch = math.ceil(len(index) / step_rows)
    total_steps = tc.max_steps or steps_per_epoch * tc.epochs
    warmup_steps = max(1, int(tc.warmup_ratio * total_steps))

    ckpt_path = run.checkpoint
    step, epoch, batch_in_epoch, best = 0, 0, 0, -math.inf
    log = open(run.train_log, "a", encoding="utf-8") if accelerator.is_main_process else None
    if ckpt_path.exists():  # a leftover temporary file from a kill mid-write is never read
        state = load_checkpoint(ckpt_path)
        accelerator.unwrap_model(model).load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, epoch, batch_in_epoch, best = state["step"], state["epoch"], state["batch_in_epoch"], state["best"]
        if accelerator.scaler is not None and state.get("scaler"):
            accelerator.scaler.load_state_dict(state["scaler"])
        # One RNG state per process, so dropout continues exactly where it stopped ("torch_rng": older checkpoints).
        rngs = state["rng"] if "rng" in state else [{"cpu": state["torch_rng"], "cuda": None}]
        set_rng_state(rngs[rank] if len(rngs) == world else rngs[0])
        accelerator.print(f"resumed from {ckpt_path}: step {step}, epoch {epoch}, batch {batch_in_epoch}")
        if log:
            log.write(json.dumps({"resumed_at_step": step, "epoch": epoch, "batch_in_epoch": batch_in_epoch}) + "\n")

    def checkpoint():
        rngs = gather_object([rng_state()])  # a collective: every process calls checkpoint()
        if accelerator.is_main_process:
            save_checkpoint(ckpt_path, {
                "model": accelerator.unwrap_model(model).state_dict(), "optimizer": optimizer.state_dict(),
                "scaler": accelerator.scaler.state_dict() if accelerator.scaler is not None else None,
                "step": step, "epoch": epoch, "batch_in_epoch": batch_in_epoch, "best": best,
                "rng": rngs, "config": config.to_dict()})
        accelerator.wait_for_everyone()

    def forward(ids: list[list[int]], rows: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """fp32 logits of these token ids, and the labels of their training rows, on the device."""
        batch = collate(ids, tokenizer.pad_token_id, train_y[rows])
        batch = {name: t.to(accelerator.device) for name, t in batch.items()}
        with accelerator.autocast():
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        return logits.float(), batch["labels"]

    progress = tqdm(total=total_steps, initial=step, desc="train", disable=not accelerator.is_local_main_process)
    started, seen = time.time(), 0
    log_loss, log_steps = torch.zeros((), device=accelerator.device), 0
    stop_at = min(total_steps, step + tc.stop_after_steps) if tc.stop_after_steps else total_steps
    while epoch < tc.epochs and step < stop_at:
        if tc.augment_prob:  # fresh respellings every epoch, the same ones on every process and on resume
            texts = augment_texts(train_texts, tc.augment_prob, tc.seed, epoch)
            epoch_ids = encode_texts(tokenizer, texts, max_length, normalize)  # respellings too
            lengths = [len(ids) for ids in epoch_ids]
        batches = plan_batches(lengths, step_rows, tc.seed, epoch, tc.group_by_length)
        model.train()
        while batch_in_epoch < len(batches) and step < stop_at:
            batch_idx = batches[batch_in_epoch]
            known_total = max(float((train_y[batch_idx] != UNKNOWN).sum()), 1.0)
            mine = batch_idx[rank::world]
            # Rows stay in length order, so contiguous micro-batches pad little.
            size = math.ceil(len(mine) / tc.grad_accum_steps) if mine else 1
            micro_batches = [mine[k:k + size] for k in range(0, len(mine), size)] or [[]]
            for k, micro in enumerate(micro_batches):
                rows = micro or batch_idx[:1]  # no rows left for this process: a zero-weight stand-in keeps DDP in step
                known = float((train_y[micro] != UNKNOWN).sum()) if micro else 0.0  # numpy: no GPU sync
                if epoch_ids is None:  # the cached token ids, read from Arrow for this micro-batch's rows only
                    ids = tokens[index[rows].tolist()]["input_ids"]
                else:
                    ids = [epoch_ids[i] for i in rows]
                # Only the last micro-batch all-reduces gradients; the others just accumulate locally.
                sync = contextlib.nullcontext() if k == len(micro_batches) - 1 else accelerator.no_sync(model)
                with sync:
                    logits, labels_t = forward(ids, rows)
                    # Weighted by this micro-batch's share of the step's known labels, the summed gradient is that
                    # of one big batch. DDP averages over processes, hence the factor `world`.
                    share = masked_bce_loss(logits, labels_t, pos_weight_t) * (known / known_total)
                    if tc.consistency_weight:
                        # Seeded by position, so a resumed run respells the same rows the same way.
                        rng = random.Random(f"consistency:{tc.seed}:{epoch}:{batch_in_epoch}:{k}")
                        respelled = encode_texts(tokenizer, [augment_text(train_texts[i], rng) for i in rows],
                                                 max_length, normalize)
                        other_logits, _ = forward(respelled, rows)
                        share = share + tc.consistency_weight * (len(micro) / len(batch_idx)) * consistency_loss(
                            other_logits, logits)
                    accelerator.backward(share * world)
                log_loss += share.detach()  # stays on the device: .item() here would sync with the GPU every step
            if tc.max_grad_norm:
                accelerator.clip_grad_norm_(model.parameters(), tc.max_grad_norm)
            scale = learning_rate_scale(step, total_steps, warmup_steps)
            for group_params in optimizer.param_groups:
                group_params["lr"] = group_params["base_lr"] * scale
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            batch_in_epoch += 1
            seen += len(batch_idx)
            log_steps += 1
            progress.update(1)
            if step % LOG_EVERY_STEPS == 0:
                loss = accelerator.reduce(log_loss, "sum").item() / log_steps  # every process's share: the global mean
                log_loss.zero_()
                log_steps = 0
                if log:
                    elapsed = time.time() - started
                    progress.set_postfix(loss=f"{loss:.4f}", samples_s=f"{seen / elapsed:.1f}")
                    log.write(json.dumps({"step": step, "epoch": epoch, "loss": loss, "lr": tc.learning_rate * scale,
                                          "samples_per_s": seen / elapsed, "elapsed_s": round(elapsed, 3)}) + "\n")
                    log.flush()
            if tc.checkpoint_every_steps and step % tc.checkpoint_every_steps == 0:
                checkpoint()
        if batch_in_epoch >= len(batches):
            epoch, batch_in_epoch = epoch + 1, 0
        elif step < total_steps:  # paused by stop_after_steps: no dev evaluation mid-epoch
            checkpoint()
            break
        # Select on dev at each epoch end (and when max_steps stops us mid-epoch).
        if accelerator.is_main_process:
            unwrapped = accelerator.unwrap_model(model)
            score = float("nan")
            if dev_rows:
                probs = predict_probs(unwrapped, tokenizer, [r["text"] for r in dev_rows], config.eval.batch_size,
                                      accelerator.device)
                score = dev_score(probs, dev_y)
            improved = not (score <= best)  # nan (no dev data) counts as improved: keep the latest
            if improved:
                best = score if not math.isnan(score) else best
                save_model(unwrapped, tokenizer, run.model)
            log.write(json.dumps({"step": step, "epoch": epoch, "dev_mean_pr_auc": score,
                                  "saved_as_best": improved}) + "\n")
            log.flush()
            accelerator.print(f"epoch {epoch} step {step}: dev mean PR-AUC {score:.4f}"
                              + (" (best, saved)" if improved else ""))
        checkpoint()
    progress.close()
    if log:
        log.close()
    return {"steps": step, "best_dev_mean_pr_auc": best}
