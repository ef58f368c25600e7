"""Tiny random models for the tests and for the engine-only benchmarks (`benchmarks/tiny_artifact.py`): a
2-layer BERT of hidden 32 saved as a local checkpoint, and a run folder around it as `cvguard train` leaves
one. Their scores mean nothing; they make the model's own cost small and need no download.
"""

from pathlib import Path

VIOLENT_TEXTS = ["你这个废物赶紧滚", "再发我就去你家找你", "把他的电话和住址挂出来", "这种人就该被网暴",
                 "地域黑就是这样恶心", "残疾人就是累赘", "造谣说她出轨了", "笑死这个丑八怪"]
SAFE_TEXTS = ["今天天气很好", "这家店的面很好吃", "我们一起去图书馆吧", "祝你生日快乐",
              "新闻报道了这起事件", "请不要网暴任何人", "老人家慢慢走", "孩子们在公园玩"]


def write_tiny_bert(folder: Path) -> Path:
    """A randomly initialised 2-layer BERT (hidden 32) with a WordPiece vocab of the fixture characters,
    saved the way a Hub checkpoint is, so `model_name_or_path` can point at it."""
    from transformers import BertConfig, BertModel, BertTokenizer  # the fast (tokenizers) one in transformers 5

    chars = sorted({c for text in VIOLENT_TEXTS + SAFE_TEXTS for c in text} | set("的一是不了人我在有他这中大来上"))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(str(folder / "vocab.txt"))  # positional: transformers 5 ignores vocab_file=
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def seed_row(i: int, text: str, violent: int, split: str, theme: str) -> dict:
    from cvguard.taxonomy import load_taxonomy

    labels = {name: 0 for name in load_taxonomy().labels}
    if violent:
        labels["violent"] = 1
        labels["insult"] = 1
        labels["threat"] = int(i % 2 == 0)
    return {"id": f"s{i}", "text": text, "labels": labels, "groups": ["individual"] if violent else [],
            "register": "weibo", "theme": theme, "kind": "positive" if violent else "hard_negative",
            "hard_negative_for": None if violent else "insult"}


def make_run(root, model_dir, max_length=32, overrides=()):
    """A run folder as `cvguard train` leaves it: the model (a tiny random BERT classifier whose head is scaled
    up, so its probabilities spread instead of all sitting at 0.5) and held-out dev and test splits."""
    import torch

    from cvguard.config import load_config
    from cvguard.contracts import RunDir
    from cvguard.io import write_jsonl
    from cvguard.taxonomy import load_taxonomy
    from cvguard.training.model import build_model, save_model

    config = load_config(None, [f"run_dir={root}", f"model.model_name_or_path={model_dir}",
                                f"model.max_length={max_length}", *overrides])
    run = RunDir(root)
    torch.manual_seed(0)
    model, tokenizer, _ = build_model(config.model, list(load_taxonomy().labels))
    with torch.no_grad():
        model.classifier.weight *= 30
    save_model(model, tokenizer, run.model)
    for split, variants in (("test", range(3)), ("dev", range(3, 5)), ("train", range(5, 8))):
        rows = [seed_row(i, f"{text}{v}号", int(text in VIOLENT_TEXTS), split, "t")
                for v in variants for i, text in enumerate(VIOLENT_TEXTS + SAFE_TEXTS)]
        write_jsonl(run.split(split), rows)
    return config
