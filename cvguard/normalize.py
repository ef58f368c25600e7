"""Text normalisation against evasive spellings, shared by training and the runtime (pure Python, no torch).

normalize_text() undoes cheap tricks that change the characters but not what a reader sees:
  1. NFKC: full-width letters, digits and punctuation become half-width (ＳＢ → SB, ！ → !), and look-alike
     compatibility forms become the plain character (① → 1, 𝐬𝐛 → sb).
  2. Invisible characters go: zero-width spaces, soft hyphens, BOMs, bidi marks, Hangul fillers. A zero-width
     joiner survives unless it touches a CJK character, because inside an emoji (👨‍👩‍👧) it is part of the emoji.
  3. Whitespace runs become one space.
  4. Traditional → simplified Chinese (OpenCC t2s): 賤人 and 贱人 get the same tokens.
  5. One to three filler symbols or spaces *between two CJK characters* are dropped: 傻*逼, 傻.逼, 傻 逼 and
     傻_-_逼 all become 傻逼. Sentence punctuation (，。！？、：；) is meaning, not filler, and stays; so do
     emoji, and so does an ellipsis (我...你).
  6. Latin letters are lower-cased (SB, Sb and sb are one word).

The model must see exactly what the runtime sees, so both call this one function: training when
`model.normalize` is on (recorded in the model's cvguard.json), export/runtime.py when the artifact's manifest
says `"normalize": true`. The function is idempotent.
"""

import functools
import re
import unicodedata

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200e\u200f"
                       "\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0]")
JOINER_BY_CJK = re.compile(f"(?<=[{CJK}])\u200d|\u200d(?=[{CJK}])")
# Filler that nobody writes between two Chinese characters except to split a word. NFKC has already made
# full-width forms (＊．＿) half-width. The comma is not here: ，becomes "," and separates clauses.
FILLER_BETWEEN_CJK = re.compile(f"(?<=[{CJK}])[ *.·•・°_\\-~|/\\\\+=#@^`'\"]{{1,3}}(?=[{CJK}])")
ELLIPSIS = re.compile(r"\.{2,3}")


@functools.lru_cache(maxsize=1)
def _to_simplified():
    from opencc import OpenCC  # pure Python; imported on first use so artifacts without normalisation skip it

    return OpenCC("t2s").convert


def _drop_filler(match: re.Match) -> str:
    return match.group(0) if ELLIPSIS.fullmatch(match.group(0)) else ""


def normalize_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = JOINER_BY_CJK.sub("", INVISIBLE.sub("", text))
    text = " ".join(text.split())
    text = _to_simplified()(text)
    text = FILLER_BETWEEN_CJK.sub(_drop_filler, text)
    return text.lower()
