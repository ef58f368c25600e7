"""Tamper-evident evidence: a hash chain of records, its check, and the bundle for a victim or the police.

Record n holds `seq` = n and `prev_hash` = record n-1's hash ("0" * 64 for the first); its hash is
sha256(prev_hash + record), the record being canonical JSON (sorted keys, no spaces, UTF-8). Editing a record
changes its hash, so its stored hash or the next record's prev_hash no longer matches; deleting one leaves a gap
in seq; deleting the newest ones leaves chain_head pointing past the end. Someone who can rewrite the whole
database can rewrite the whole chain: publish or escrow `cvguard evidence verify`'s head hash now and then to
pin it.
"""

import hashlib
import json
from pathlib import Path

from jinja2 import Environment

from cvguard.io import atomic_write_text, write_json
from cvguard.monitor.store import Store, dumps

GENESIS = "0" * 64


def record_hash(prev_hash: str, record_json: str) -> str:
    return hashlib.sha256((prev_hash + record_json).encode("utf-8")).hexdigest()


class Chain:
    def __init__(self, store: Store):
        self.store = store
        head = store.query("SELECT seq, hash FROM chain_head WHERE id = 1")
        self.seq, self.hash = (int(head[0][0]), head[0][1]) if head else (0, GENESIS)

    def append(self, fields: dict) -> int:
        """Adds a record inside the caller's transaction; returns its seq."""
        seq = self.seq + 1
        record = dumps({**fields, "seq": seq, "prev_hash": self.hash})
        digest = record_hash(self.hash, record)
        self.store.execute("INSERT INTO evidence VALUES (?, ?, ?, ?, ?)", (seq, fields["event_id"], record, self.hash, digest))
        self.store.execute("INSERT INTO chain_head VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, "
                           "hash = excluded.hash", (seq, digest))
        self.seq, self.hash = seq, digest
        return seq


def verify(store: Store) -> tuple[bool, str, int]:
    """(intact, what was found, records checked). The message names the first bad record."""
    prev, expected, n = GENESIS, 1, 0
    rows = store.execute("SELECT seq, record, prev_hash, hash FROM evidence ORDER BY seq")
    for seq, record, prev_hash, digest in rows:
        seq = int(seq)
        if seq != expected:
            return False, f"evidence record {expected} is missing (the next record is {seq}): deleted", n
        try:
            fields = json.loads(record)
        except json.JSONDecodeError:
            return False, f"evidence record {seq}: not valid JSON: edited", n
        if fields.get("seq") != seq or fields.get("prev_hash") != prev or prev_hash != prev:
            return False, f"evidence record {seq}: does not link to record {seq - 1} (prev_hash differs): edited or reordered", n
        if record_hash(prev, record) != digest:
            return False, f"evidence record {seq}: its hash does not match its content: edited", n
        prev, expected, n = digest, expected + 1, n + 1
    head = store.query("SELECT seq, hash FROM chain_head WHERE id = 1")
    head_seq, head_hash = (int(head[0][0]), head[0][1]) if head else (0, GENESIS)
    store.commit()
    if (head_seq, head_hash) != (n, prev):
        return False, f"the chain head says {head_seq} records ending in {head_hash[:12]}, the table holds {n} ending " \
                      f"in {prev[:12]}: records after {n} were deleted", n
    return True, f"{n} evidence records intact; head {prev}", n


def records(store: Store, target: str) -> list[dict]:
    rows = store.query("SELECT record, hash FROM evidence ORDER BY seq")
    store.commit()
    out = []
    for record, digest in rows:
        fields = json.loads(record)
        if fields.get("target") == target:
            out.append({**fields, "hash": digest})
    return out


def export_bundle(store: Store, target: str, folder: Path, alerts: list[dict]) -> dict:
    """DIR/evidence.json (the records with their hashes, the target's alerts, the chain check) and
    DIR/evidence.html (a timeline a person can read)."""
    intact, check, _ = verify(store)
    items = records(store, target)
    if not items:
        raise ValueError(f"no evidence records for target {target!r} in {store.url}")
    categories: dict[str, int] = {}
    for item in items:
        for name in item["labels"]:
            if name != "violent":
                categories[name] = categories.get(name, 0) + 1
    bundle = {"target": target, "protected": sorted({a for item in items for a in item["protected"]}),
              "chain": {"intact": intact, "check": check}, "records": items, "alerts": alerts,
              "categories": dict(sorted(categories.items(), key=lambda kv: -kv[1])),
              "first_time": min(i["time"] for i in items), "last_time": max(i["time"] for i in items)}
    write_json(folder / "evidence.json", bundle)
    atomic_write_text(folder / "evidence.html", PAGE.render(**bundle))
    return bundle


PAGE = Environment(autoescape=True).from_string("""<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>证据 Evidence: {{ target }}</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td,th{border-bottom:1px solid #ddd;padding:.3em;
vertical-align:top;text-align:left}.bad{color:#b00}.protected{background:#fde;padding:.2em .5em}code{font-size:.8em}</style>
</head><body>
<h1>证据 Evidence: {{ target }}</h1>
{% if protected %}<p class="protected">受特别保护的对象 Protected target: {{ protected|join(", ") }}</p>{% endif %}
<p>{{ records|length }} flagged comments from {{ first_time }} to {{ last_time }}.
Hash chain: <span class="{{ '' if chain.intact else 'bad' }}">{{ chain.check }}</span></p>
<h2>类别 Categories</h2>
<table><tr><th>category</th><th>comments</th></tr>
{% for name, n in categories.items() %}<tr><td>{{ name }}</td><td>{{ n }}</td></tr>{% endfor %}</table>
<h2>告警 Alerts</h2>
<table><tr><th>rule</th><th>priority</th><th>first</th><th>last</th><th>counts</th></tr>
{% for a in alerts %}<tr><td>{{ a.rule }}</td><td>{{ a.priority }}</td><td>{{ a.first_time }}</td><td>{{ a.last_time }}</td>
<td>{% for k, v in a.counts.items() %}{{ k }} {{ v|join(", ") if v is iterable and v is not string else v }}
{{- ", " if not loop.last }}{% endfor %}</td></tr>{% endfor %}</table>
<h2>时间线 Timeline</h2>
<table><tr><th>#</th><th>time</th><th>author</th><th>text</th><th>labels</th><th>personal data</th><th>sha256</th></tr>
{% for r in records %}<tr><td>{{ r.seq }}</td><td>{{ r.time }}</td><td>{{ r.author }}</td>
<td>{{ r.text if r.text is not none else "(text not kept; sha256 " ~ r.text_sha256[:16] ~ "…)" }}</td>
<td>{{ r.labels|join(", ") }}{% if r.rules %}<br>rules: {{ r.rules|join(", ") }}{% endif %}</td>
<td>{% for f in r.pii %}{{ f.kind }} ({{ f.status }})<br>{% endfor %}</td><td><code>{{ r.hash[:16] }}</code></td></tr>
{% endfor %}</table>
<p>Each record's full content, its hash and the previous record's hash are in evidence.json; the model artifact that
scored them: {{ records[0].artifact.id[:16] }}… (variant {{ records[0].artifact.variant }}).</p>
</body></html>
""")
