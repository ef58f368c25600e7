"""Fine-tunes the classifier. One visible loop; accelerate makes it run on CPU, one GPU or several.

Writes to RUN_DIR:
  checkpoint.pt     the latest training state (model, optimiser, step, data position, RNG); resumed from
  model/            the weights that scored best on dev, plus tokenizer and cvguard.json
  train_log.jsonl   loss and learning rate every few steps, dev metrics every epoch
"""

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from sklearn.metrics import average_precision_score
from tqdm.auto import tqdm

from cvguard.config import RunConfig
from cvguard.io import read_jsonl
from cvguard.taxonomy import load_taxonomy
from cvguard.training.batching import collate, encode_texts, label_matrix, plan_batches, predict_probs
from cvguard.training.model import UNKNOWN, build_classifier, masked_bce_loss, save_classifier

LOG_EVERY_STEPS = 10


def learning_rate_scale(step: int, total_steps: int, warmup_steps: int) -> float:
    """Linear warm-up, then linear decay to zero."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def dev_score(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean PR-AUC over labels with both classes known on dev: the model-selection criterion."""
    scores = []
    for j in range(labels.shape[1]):
        known = labels[:, j] != UNKNOWN
        y = labels[known, j]
        if 0 < y.sum() < len(y):
            scores.append(average_precision_score(y, probs[known, j]))
    return float(np.mean(scores)) if scores else float("nan")


def save_checkpoint(path: Path, state: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # atomic: a kill mid-write leaves the previous checkpoint intact


def train(config: RunConfig) -> dict:
    run = config.run_path
    tc = config.train
    labels = list(load_taxonomy().labels)
    accelerator = Accelerator(mixed_precision=tc.mixed_precision, cpu=not torch.cuda.is_available())
    if tc.num_threads:
        torch.set_num_threads(tc.num_threads)
    set_seed(tc.seed)

    train_rows = read_jsonl(run / "data" / "train.jsonl")
    dev_rows = read_jsonl(run / "data" / "dev.jsonl")
    if not train_rows:
        raise ValueError(f"{run / 'data' / 'train.jsonl'} has no rows; run `cvguard data` first")
    model, tokenizer = build_classifier(config.model, labels)
    train_ids = encode_texts(tokenizer, [r["text"] for r in train_rows], config.model.max_length)
    train_y = label_matrix(train_rows, labels)
    dev_y = label_matrix(dev_rows, labels)

    encoder_params = [p for n, p in model.named_parameters() if not n.startswith("head.")]
    optimizer = torch.optim.AdamW([
        {"params": encoder_params, "lr": tc.learning_rate, "base_lr": tc.learning_rate},
        {"params": model.head.parameters(), "lr": tc.head_learning_rate, "base_lr": tc.head_learning_rate},
    ], weight_decay=tc.weight_decay)
    model, optimizer = accelerator.prepare(model, optimizer)

    # Every process plans the same global batches and takes its own slice of each, so N processes
    # see exactly the data that 1 process would, and the global batch size stays tc.batch_size.
    world, rank = accelerator.num_processes, accelerator.process_index
    batches_per_epoch = math.ceil(len(train_rows) / tc.batch_size)
    steps_per_epoch = math.ceil(batches_per_epoch / tc.grad_accum_steps)
    total_steps = tc.max_steps or steps_per_epoch * tc.epochs
    warmup_steps = max(1, int(tc.warmup_ratio * total_steps))

    ckpt_path = run / "checkpoint.pt"
    step, epoch, batch_in_epoch, best = 0, 0, 0, -math.inf
    if ckpt_path.exists():
        state = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        accelerator.unwrap_model(model).load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, epoch, batch_in_epoch, best = state["step"], state["epoch"], state["batch_in_epoch"], state["best"]
        torch.set_rng_state(state["torch_rng"])
        accelerator.print(f"resumed from {ckpt_path}: step {step}, epoch {epoch}, batch {batch_in_epoch}")

    def checkpoint():
        if accelerator.is_main_process:
            save_checkpoint(ckpt_path, {
                "model": accelerator.unwrap_model(model).state_dict(), "optimizer": optimizer.state_dict(),
                "step": step, "epoch": epoch, "batch_in_epoch": batch_in_epoch, "best": best,
                "torch_rng": torch.get_rng_state(), "config": config.to_dict()})
        accelerator.wait_for_everyone()

    log = open(run / "train_log.jsonl", "a", encoding="utf-8") if accelerator.is_main_process else None
    pad_id = tokenizer.pad_token_id
    lengths = [len(ids) for ids in train_ids]
    progress = tqdm(total=total_steps, initial=step, desc="train", disable=not accelerator.is_local_main_process)
    started, seen = time.time(), 0
    stop_at = min(total_steps, step + tc.stop_after_steps) if tc.stop_after_steps else total_steps
    while epoch < tc.epochs and step < stop_at:
        batches = plan_batches(lengths, tc.batch_size, tc.seed, epoch, tc.group_by_length)
        model.train()
        while batch_in_epoch < len(batches) and step < stop_at:
            group = batches[batch_in_epoch:batch_in_epoch + tc.grad_accum_steps]
            known_total = sum(float((train_y[b] != UNKNOWN).sum()) for b in group)
            loss_sum = 0.0
            for batch_idx in group:
                mine = batch_idx[rank::world] or batch_idx[:1]  # never an empty slice
                batch = collate([train_ids[i] for i in mine], pad_id, train_y[mine])
                batch = {k: v.to(accelerator.device) for k, v in batch.items()}
                with accelerator.autocast():
                    logits = model(batch["input_ids"], batch["attention_mask"])
                    known = float((batch["labels"] != UNKNOWN).sum())
                    # Weight each micro-batch by its share of known labels, so accumulation equals one big batch.
                    loss = masked_bce_loss(logits.float(), batch["labels"]) * (known * world / max(known_total, 1))
                accelerator.backward(loss)
                loss_sum += loss.item()
                seen += len(batch_idx)
            if tc.max_grad_norm:
                accelerator.clip_grad_norm_(model.parameters(), tc.max_grad_norm)
            scale = learning_rate_scale(step, total_steps, warmup_steps)
            for group_params in optimizer.param_groups:
                group_params["lr"] = group_params["base_lr"] * scale
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            batch_in_epoch += len(group)
            progress.update(1)
            if step % LOG_EVERY_STEPS == 0 and log:
                rate = seen / (time.time() - started)
                progress.set_postfix(loss=f"{loss_sum / world:.4f}", samples_s=f"{rate:.1f}")
                log.write(json.dumps({"step": step, "epoch": epoch, "loss": loss_sum / world,
                                      "lr": tc.learning_rate * scale, "samples_per_s": rate}) + "\n")
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
                probs = predict_probs(unwrapped, tokenizer, [r["text"] for r in dev_rows],
                                      config.model.max_length, config.eval.batch_size, accelerator.device)
                score = dev_score(probs, dev_y)
            improved = not (score <= best)  # nan (no dev data) counts as improved: keep the latest
            if improved:
                best = score if not math.isnan(score) else best
                save_classifier(unwrapped, tokenizer, labels, config.model, run / "model")
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
