"""The incident-thread corpus: authored comment threads under fictional trending incidents (data/threads/).

Writers author threads in a compact text form, data/threads/src/*.txt (format in data/threads/README.md);
this module parses and checks them and writes data/threads/threads.jsonl, one comment per line:

    python -m cvguard.data.incidents            # rebuild threads.jsonl from the sources
    python -m cvguard.data.incidents --check F  # check one source file, print its counts

Incidents are split whole: a writer marks an incident `train` or `eval` (the evaluation incidents are written
apart from the training ones and never trained on); a stable hash of the incident id moves a fifth of the
`train` incidents to `dev`.
"""

import argparse
import hashlib
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from cvguard.contracts import THREADS
from cvguard.data.sources import THREADS_FILE, bundled_folder
from cvguard.io import InputError, decode_text, write_jsonl
from cvguard.taxonomy import load_taxonomy

PLATFORMS = ("weibo", "douyin", "xiaohongshu", "bilibili", "zhihu", "tieba", "group_chat")
KINDS = ("opening", "neutral", "criticism", "support", "counter_speech", "quotation", "reporting", "banter", "attack")
HARD_NEGATIVE_KINDS = ("criticism", "counter_speech", "quotation", "reporting", "banter")
TARGET_ATTRIBUTES = ("minor", "elderly", "disabled")
SOURCE_SPLITS = ("train", "eval")
DEV_FRACTION = 0.2
HEADER_KEYS = ("platform", "title", "target", "target_attributes", "split", "start")
ID_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,40}$")
# Name-calling that is abuse wherever an attack uses it (GUIDELINES.md section 3: epithets, age-word slurs at one
# elderly person, group slurs). Writers left `insult` off such attacks when a threat or a stereotype was the
# comment's main act; the check keeps train and eval labelled alike. Only unambiguous words: 狗 or 垃圾 alone
# are often literal.
EPITHETS = ("老东西", "老不死", "狗东西", "贱人", "人渣", "废物", "巨婴", "废柴", "废宅", "货色", "狗腿子", "脑残",
            "智障", "傻逼", "王八蛋", "畜生", "抄袭狗", "绿茶婊")


@dataclass
class Incident:
    id: str
    path: Path
    line: int
    header: dict = field(default_factory=dict)
    comments: list = field(default_factory=list)  # (line number, minutes, author, kind, target, labels, text)


def _parse_start(path, line_no, value: str) -> datetime:
    try:
        start = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(path, line_no, f"start {value!r} is not an ISO 8601 time") from None
    if start.tzinfo is None:
        raise InputError(path, line_no, f"start {value!r} needs a UTC offset, e.g. +08:00")
    return start


def parse_source(path: Path) -> list[Incident]:
    """The incidents of one source file; InputError names the line and the problem."""
    categories = load_taxonomy().categories
    incidents: list[Incident] = []
    current = None
    for line_no, raw in enumerate(decode_text(path, path.read_bytes()).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("==="):
            incident_id = line.lstrip("=").strip()
            if not ID_PATTERN.match(incident_id):
                raise InputError(path, line_no, f"bad incident id {incident_id!r}: lower-case letters, digits, '-'")
            current = Incident(incident_id, path, line_no)
            incidents.append(current)
            continue
        if current is None:
            raise InputError(path, line_no, "text before the first '=== incident-id' line")
        key, sep, value = line.partition(":")
        if sep and key.strip() in HEADER_KEYS and not current.comments:
            current.header[key.strip()] = value.strip()
            continue
        parts = [p.strip() for p in line.split("|", 4)]
        if len(parts) != 5:
            raise InputError(path, line_no, "expected 'minutes | author | kind | labels | text' "
                                            f"or a header line ({', '.join(HEADER_KEYS)})")
        minutes, author, kind, labels, text = parts
        if not minutes.isdigit():
            raise InputError(path, line_no, f"minutes {minutes!r} must be a whole number")
        kind, _, target = kind.partition(">")
        kind, target = kind.strip(), target.strip()
        if kind not in KINDS:
            raise InputError(path, line_no, f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
        names = [] if labels == "-" else [n.strip() for n in labels.split(",")]
        unknown = [n for n in names if n not in categories]
        if unknown or (labels != "-" and not names):
            raise InputError(path, line_no, f"unknown label(s) {unknown}; use '-' or ids from {', '.join(categories)}")
        if kind == "attack" and not names:
            raise InputError(path, line_no, "an attack needs at least one category")
        epithets = [word for word in EPITHETS if word in text]
        if kind == "attack" and epithets and "insult" not in names:
            raise InputError(path, line_no, f"an attack that calls someone {epithets[0]!r} is also 'insult' "
                                            "(data/GUIDELINES.md, section 3)")
        if kind != "attack" and names:
            raise InputError(path, line_no, f"a {kind} comment carries no category; abuse aimed back at attackers "
                                            "is 'attack>who'")
        if not author or not text:
            raise InputError(path, line_no, "empty author or text")
        current.comments.append((line_no, int(minutes), author, kind, target, sorted(set(names)), text))
    return incidents


def _stable_fraction(key: str) -> float:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def incident_rows(incident: Incident) -> list[dict]:
    """The incident's comments as corpus rows; checks the header and the thread's order."""
    tax = load_taxonomy()
    path, header = incident.path, incident.header
    missing = [k for k in HEADER_KEYS if k not in header]
    if missing:
        raise InputError(path, incident.line, f"incident {incident.id} lacks {', '.join(missing)}")
    if header["platform"] not in PLATFORMS:
        raise InputError(path, incident.line, f"unknown platform {header['platform']!r}; expected {PLATFORMS}")
    if header["split"] not in SOURCE_SPLITS:
        raise InputError(path, incident.line, f"split must be one of {SOURCE_SPLITS}, got {header['split']!r}")
    attributes = [a.strip() for a in header["target_attributes"].replace("[", "").replace("]", "").split(",") if a.strip()]
    if set(attributes) - set(TARGET_ATTRIBUTES):
        raise InputError(path, incident.line, f"target_attributes must come from {TARGET_ATTRIBUTES}")
    start = _parse_start(path, incident.line, header["start"])
    split = header["split"]
    if split == "train" and _stable_fraction(incident.id) < DEV_FRACTION:
        split = "dev"
    if not incident.comments or incident.comments[0][3] != "opening":
        raise InputError(path, incident.line, f"incident {incident.id} must begin with its opening post")
    rows, last_minute = [], 0
    for position, (line_no, minutes, author, kind, target, names, text) in enumerate(incident.comments):
        if minutes < last_minute:
            raise InputError(path, line_no, f"minutes go back in time ({minutes} after {last_minute})")
        last_minute = minutes
        labels = {name: int(name in names) for name in tax.categories}
        labels = {tax.overall: int(bool(names)), **labels}
        rows.append(dict(id=f"{incident.id}-{position:03d}", incident=incident.id, platform=header["platform"],
                         time=(start + timedelta(minutes=minutes)).isoformat(), author=author, text=text,
                         labels=labels, target=target or header["target"],
                         target_attributes=[] if target else attributes, kind=kind, split=split))
    return rows


def build_corpus(folder: Path) -> list[dict]:
    rows, seen = [], {}
    for path in sorted((folder / "src").glob("*.txt")):
        for incident in parse_source(path):
            if incident.id in seen:
                raise InputError(path, incident.line, f"incident id {incident.id} also in {seen[incident.id]}")
            seen[incident.id] = path.name
            rows.extend(incident_rows(incident))
    return rows


def summary(rows: list[dict]) -> str:
    tax = load_taxonomy()
    lines = []
    for split in ("train", "dev", "eval"):
        part = [r for r in rows if r["split"] == split]
        incidents = len({r["incident"] for r in part})
        per_label = ", ".join(f"{n} {sum(r['labels'][n] for r in part)}" for n in tax.labels)
        hard = sum(r["kind"] in HARD_NEGATIVE_KINDS for r in part)
        lines.append(f"{split}: {incidents} incidents, {len(part)} comments, {hard} hard negatives; {per_label}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", type=Path, help="check one source file and print its counts; writes nothing")
    parser.add_argument("--folder", type=Path, default=bundled_folder(THREADS), help="the corpus folder (data/threads)")
    args = parser.parse_args(argv)
    try:
        if args.check:
            incidents = parse_source(args.check)
            rows = [row for incident in incidents for row in incident_rows(incident)]
            short = [f"{i.id} ({len(i.comments)})" for i in incidents if len(i.comments) < 40]
            print(summary(rows))
            if short:
                print(f"threads under 40 comments: {', '.join(short)}")
            return 0
        rows = build_corpus(args.folder)
        write_jsonl(args.folder / THREADS_FILE, rows)
        print(summary(rows))
        return 0
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
