"""Train-time evasion augmentation: respell a share of training texts the way users dodge keyword filters.

Each chosen text gets one or two spans (an abusive word from the table below, or else any Chinese character)
rewritten by one of three tricks:
  pinyin      讨厌 → taoyan or ty, 死 → si              toneless, as typed on a phone (pypinyin)
  homophone   傻逼 → 煞笔, 你妈 → 尼玛, 厌 → 燕          the curated table, else a common character that
                                                        has the same pinyin (pypinyin, GB2312 level 1)
  char split  妈 → 女马, 蠢 → 春虫                        the curated table of left-right / top-bottom splits
Labels stay as they are: a reader still sees the same insult. Rows are picked whatever their label, so an odd
spelling is not by itself a cue for `violent`. Which rows and which rewrites depend only on (seed, epoch), so a
resumed run replays them. The tables were written from common knowledge of Chinese internet slang, not from
any test set (MHC-Mandarin's spell_* cases are what the experiment in configs/robust.yaml measures).
"""

import functools
import random
import re

from pypinyin import Style, lazy_pinyin

# High-frequency abusive words and their usual respellings (homophones, near-homophones, initials).
HOMOPHONES = {
    "傻逼": ["煞笔", "傻比", "沙比", "傻b", "sb"], "你妈": ["尼玛", "你马", "泥马"], "他妈的": ["他喵的", "他马的", "tmd"],
    "妈的": ["马的", "md"], "垃圾": ["辣鸡", "拉圾", "lj"], "智障": ["智樟", "zz"], "脑残": ["脑惨", "nc"],
    "废物": ["费物", "fw"], "贱人": ["剑人", "jian人"], "婊子": ["表子", "biao子"], "去死": ["去4", "qs"],
    "畜生": ["触生", "cs"], "白痴": ["白吃", "bc"], "弱智": ["若智", "rz"], "神经病": ["神经并", "sjb"],
    "恶心": ["饿心", "ex"], "杂种": ["砸种", "zz"], "黑鬼": ["嘿鬼", "hei鬼"], "滚": ["衮", "gun"],
    "操": ["草", "艹", "cao"], "死": ["4", "si"], "狗": ["苟", "gou"], "猪": ["朱", "zhu"], "贱": ["剑", "建"],
    "骚": ["扫", "sao"], "蠢": ["春", "chun"], "逼": ["比", "b"], "妈": ["马", "ma"],
}
# Characters written as their two components. Several are ordinary characters (讨, 厌, 他): evasion splits
# whichever character gives the filter away, not only the swear word.
CHAR_SPLITS = {
    "妈": "女马", "蠢": "春虫", "操": "扌喿", "狗": "犭句", "猪": "犭者", "贱": "贝戋", "婊": "女表", "娘": "女良",
    "奶": "女乃", "妓": "女支", "鸡": "又鸟", "死": "歹匕", "妹": "女未", "好": "女子", "蛆": "虫且", "娼": "女昌",
    "粪": "米共", "恨": "忄艮", "怪": "忄圣", "猴": "犭侯", "狼": "犭良", "她": "女也", "他": "亻也", "们": "亻门",
    "吗": "口马", "烂": "火兰", "坏": "土不", "妖": "女夭", "讨": "讠寸", "厌": "厂犬", "滚": "氵衮", "逼": "辶畐",
    "恶": "亚心", "杀": "乂木", "砍": "石欠", "打": "扌丁", "揍": "扌奏", "畜": "玄田", "骗": "马扁", "残": "歹戋",
}
LEXICON = re.compile("|".join(sorted(HOMOPHONES, key=len, reverse=True)))
HAN = re.compile(r"[\u4e00-\u9fff]")
MAX_EDITS = 2


@functools.lru_cache(maxsize=1)
def same_pinyin() -> dict[str, list[str]]:
    """Toneless pinyin -> the 3,755 common (GB2312 level-1) characters that read so; rare ones would be [UNK]."""
    table: dict[str, list[str]] = {}
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            try:
                char = bytes([hi, lo]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            table.setdefault(lazy_pinyin(char)[0], []).append(char)
    return table


def to_pinyin(span: str, rng: random.Random) -> str:
    if len(span) > 1 and rng.random() < 0.5:
        return "".join(lazy_pinyin(span, style=Style.FIRST_LETTER))
    return "".join(lazy_pinyin(span))


def to_homophone(span: str, rng: random.Random) -> str:
    if span in HOMOPHONES:
        return rng.choice(HOMOPHONES[span])
    out = []
    for char in span:
        options = [c for c in same_pinyin().get(lazy_pinyin(char)[0], []) if c != char]
        out.append(rng.choice(options) if options and HAN.match(char) else char)
    return "".join(out)


def to_split(span: str, rng: random.Random) -> str:
    return "".join(CHAR_SPLITS.get(char, char) for char in span)


def augment_text(text: str, rng: random.Random) -> str:
    """Rewrites one or two non-overlapping spans; a text without Chinese characters comes back unchanged."""
    words = [(m.start(), m.end()) for m in LEXICON.finditer(text)]
    chars = [(m.start(), m.end()) for m in HAN.finditer(text)]
    spans: list[tuple[int, int]] = []
    for _ in range(rng.randint(1, MAX_EDITS)):
        pool = words if words and rng.random() < 0.7 else chars
        pool = [s for s in pool if all(s[1] <= a or s[0] >= b for a, b in spans)]
        if pool:
            spans.append(rng.choice(pool))
    for start, end in sorted(spans, reverse=True):  # right to left, so earlier offsets stay valid
        span = text[start:end]
        tricks = [to_pinyin, to_homophone] + ([to_split] if any(c in CHAR_SPLITS for c in span) else [])
        text = text[:start] + rng.choice(tricks)(span, rng) + text[end:]
    return text


def augment_texts(texts: list[str], prob: float, seed: int, epoch: int) -> list[str]:
    """Rewrites about `prob` of the texts; the same (seed, epoch) always gives the same output."""
    rng = random.Random(f"augment:{seed}:{epoch}")  # str seeds hash with sha512: stable across processes
    return [augment_text(text, rng) if rng.random() < prob else text for text in texts]
