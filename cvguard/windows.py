"""Long texts as overlapping windows: one definition for evaluation (PyTorch) and the runtime (onnxruntime),
so thresholds are chosen on exactly the scores the deployed artifact produces.

"window" scores each window of a text over max_length tokens and keeps the maximum per label (abuse at the
end of a long post is still seen); "truncate" scores only the first max_length tokens.
"""

LONG_TEXT_MODES = ("window", "truncate")


def default_window_stride(max_length: int) -> int:
    """Half a window: every token is seen in two windows, away from a window edge in one of them."""
    return max(1, (max_length - 2) // 2)  # 2: room for the two special tokens


def split_windows(ids: list[int], special: list[int], max_length: int, stride: int) -> list[list[int]]:
    """Overlapping windows of at most max_length tokens, each keeping the leading and trailing special
    tokens ([CLS] ... [SEP], <s> ... </s>); the last window ends at the end of the text."""
    if len(ids) <= max_length:
        return [ids]
    head = next(i for i, s in enumerate(special) if not s)
    tail = next(i for i, s in enumerate(reversed(special)) if not s)
    body = ids[head:len(ids) - tail]
    size = max_length - head - tail
    starts = list(range(0, len(body) - size, stride)) + [len(body) - size]
    return [ids[:head] + body[s:s + size] + ids[len(ids) - tail:] for s in starts]


def windows_of(texts_ids: list[list[int]], special_masks: list[list[int]], max_length: int,
               stride: int) -> tuple[list[list[int]], list[int]]:
    """Every text's windows as rows to score, and per row the index of its text (for the max over windows)."""
    rows, owner = [], []
    for i, (ids, special) in enumerate(zip(texts_ids, special_masks)):
        windows = split_windows(ids, special, max_length, stride)
        rows.extend(windows)
        owner.extend([i] * len(windows))
    return rows, owner
