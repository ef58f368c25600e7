"""Detectors for personal data posted in a comment: the "feature database" of doxxing (人肉) that the model
should not have to learn from a few hundred examples.

Each finding is a dict: `kind` (id_number | mobile | bank_card | plate | landline | email | address | school),
`text` (the span as
posted), `start`, `end`, and `status`:

- `valid`: a complete number that passes its check (ID: GB 11643 checksum and a real date; bank card: Luhn;
  mobile and plate: the format only, they have no check digit);
- `masked`: a number with digits starred out (158****3307, 3303**********264X): still someone's, and still
  doxxing, so it counts;
- `invalid_checksum`: a complete number that fails its check, i.e. made up; reported, but it raises nothing.

Addresses count when specific enough to find someone by (a building or door number: 11栋1802, xx花园 12栋,
xx路32号), schools when named (no 某, no pronoun) or given with a class (初二5班, 2022级3班); both only next to
a person: within `PERSON_CUE_CHARS` characters of a pronoun, a "lives / studies at" word or a masked name
(曹x兵, 孔某). A shop's address in an advert has no such cue.

`raises_privacy(findings)`: the rule the monitor applies, documented in docs/monitoring.md: any valid or masked
finding raises the `privacy` flag (and so `violent`).
"""

import re
from datetime import date

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
MASK = "*＊xX×"  # what people star digits out with (x only inside a number, never as its first character)
PERSON_CUE_CHARS = 12
PERSON_CUE = re.compile(r"[他她你其]|住|家在|家住|上学|在读|就读|读书|孩子|儿子|女儿|[\u4e00-\u9fff][x某*][\u4e00-\u9fff]?")

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_NUMBER = re.compile(rf"(?<![0-9A-Za-z])[0-9][0-9{re.escape(MASK)} -]{{9,24}}[0-9Xx{re.escape(MASK)}](?![0-9A-Za-z])")
_PLATE = re.compile(rf"[{PROVINCES}][A-Z][·・ ]?[A-Z0-9*＊]{{5,6}}(?![A-Za-z0-9])")
# A place is specific enough to find a person by when it has a building or door number, or is a named complex
# or road with a number. "我们小区", "某大学" name nobody.
NAME = r"[^\s\d某这那个我你他她们的是在被从去到和与及上走向该应先直接读回进要想、，。！？!?,.:：;；“”\"'（）()]"
_ADDRESS = re.compile(rf"(?:{NAME}{{1,8}}(?:小区|花园|公寓|新村|家园|府|苑|大厦|工业园|城中村)\s?)?"
                      r"(?:[A-Za-z]?\d+\s?(?:栋|幢|号楼|单元)(?:\s?\d+\s?(?:单元|楼|层|室|号)?)*"
                      rf"|{NAME}{{1,6}}路\d+号)")
_SCHOOL = re.compile(rf"{NAME}{{2,8}}(?:小学|中学|初中|高中|幼儿园|大学|学院|职高|技校)(?:\s?\d{{4}}级|[初高][一二三]\s?\d+班)?"
                     r"|[初高][一二三]\s?\d+班|\d{4}级\s?\d+班")
_EMAIL = re.compile(r"[A-Za-z0-9._%+*＊-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_LANDLINE = re.compile(r"(?<![0-9])0\d{2,3}-[0-9*＊]{7,8}(?![0-9])")


def id_checksum_ok(digits17: str, check: str) -> bool:
    return ID_CHECK[sum(int(d) * w for d, w in zip(digits17, ID_WEIGHTS)) % 11] == check.upper()


def id_date_ok(number: str) -> bool:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14])) <= date.today()
    except ValueError:
        return False


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _classify_number(raw: str) -> tuple[str, str] | None:
    """(kind, status) of a digit run as posted, or None when it is no personal number."""
    compact = re.sub(r"[ -]", "", raw)
    masked = any(c in MASK for c in compact[:-1]) or (compact[-1] in "*＊×")
    if not re.fullmatch(rf"[0-9{re.escape(MASK)}]+", compact[:-1]):
        return None
    digits = sum(c.isdigit() for c in compact)
    if len(compact) == 11 and compact[0] == "1" and compact[1] in "3456789*＊":
        return "mobile", "masked" if masked else "valid"
    if len(compact) == 18 and (masked or compact[:17].isdigit()):
        if masked:
            return ("id_number", "masked") if digits >= 4 else None
        if id_checksum_ok(compact[:17], compact[17]) and id_date_ok(compact):
            return "id_number", "valid"
        if compact.isdigit() and luhn_ok(compact):  # 18-digit bank cards exist too
            return "bank_card", "valid"
        return "id_number", "invalid_checksum"  # ID-shaped, failing the date or the checksum: made up
    if 16 <= len(compact) <= 19 and compact[-1] not in "Xx":
        if masked:
            return ("bank_card", "masked") if digits >= 4 else None
        return "bank_card", "valid" if luhn_ok(compact) else "invalid_checksum"
    return None


def _near_person(text: str, start: int, end: int) -> bool:
    window = text[max(0, start - PERSON_CUE_CHARS):end + PERSON_CUE_CHARS]
    return PERSON_CUE.search(window) is not None


def detect(text: str) -> list[dict]:
    findings = []
    for m in _NUMBER.finditer(text):
        found = _classify_number(m.group())
        if found:
            findings.append({"kind": found[0], "status": found[1], "text": m.group(), "start": m.start(), "end": m.end()})
    for m in _PLATE.finditer(text):
        masked = any(c in "*＊" for c in m.group())
        findings.append({"kind": "plate", "status": "masked" if masked else "valid", "text": m.group(),
                         "start": m.start(), "end": m.end()})
    for kind, pattern in (("email", _EMAIL), ("landline", _LANDLINE)):
        for m in pattern.finditer(text):
            masked = any(c in "*＊" for c in m.group())
            findings.append({"kind": kind, "status": "masked" if masked else "valid", "text": m.group(),
                             "start": m.start(), "end": m.end()})
    for kind, pattern in (("address", _ADDRESS), ("school", _SCHOOL)):
        for m in pattern.finditer(text):
            in_handle = text[max(0, m.start() - 1):m.start()] == "@"  # @7栋-小陶 is a neighbour's nickname
            if not in_handle and _near_person(text, m.start(), m.end()):
                findings.append({"kind": kind, "status": "valid", "text": m.group(), "start": m.start(), "end": m.end()})
    return sorted(findings, key=lambda f: f["start"])


def raises_privacy(findings: list[dict]) -> bool:
    return any(f["status"] in ("valid", "masked") for f in findings)
