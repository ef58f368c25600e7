"""The monitor: comment events in, scores, evidence and alerts out, all persisted.

    from cvguard.monitor.engine import Monitor
    monitor = Monitor.open(Classifier.load(artifact), "monitor.db", load_monitor_config("configs/monitor.yaml"))
    result = monitor.process([{"id": "c1", "time": "2025-06-03T19:20:00+08:00", "author": "a", "text": "..."}])
    result.alerts   # alerts opened by these events

An event's target is its `target`, else the first @mention in its text, else the target its thread was given
by an earlier event, else the thread itself ("thread:ID"). Each batch of events is one database transaction
(events, evidence, alerts, the followed file's position), so a kill at any instant leaves whole batches: a
restart skips the events it has (idempotent by id) and rebuilds the windows, the baselines and the open
alerts from the database. Windows are in event time, so a replay alerts exactly as the live stream did.

Per target, one alert per rule stays open: later events that match the rule update its counts, last event
and evidence instead of opening another, until `cvguard alerts --close ID` marks it handled. Alerts are
announced (stdout, webhook) after their batch commits, with the batch's last update; an alert committed but
not yet announced when the process dies is announced on restart (at least once, never lost).
"""

import hashlib
import json
import re
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone

from cvguard.export.options import InvalidTexts, validate_texts
from cvguard.monitor.config import PROTECTED_ATTRIBUTES, MonitorConfig, Rules
from cvguard.monitor.evidence import Chain
from cvguard.monitor.pii import detect, raises_privacy
from cvguard.monitor.store import Store, dumps, open_store

MENTION = re.compile(r"@([^\s@:：,，。!！?？、;；]+)")
MAX_REJECT_CHARS = 2000
EVICT_EVERY = 1000  # events between sweeps of idle targets' windows


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat()


@dataclass
class Event:
    id: str
    time: float
    time_text: str
    author: str
    text: str
    target: str | None
    thread: str | None
    attributes: list[str]


def parse_event(obj) -> Event:
    """An event from its JSON value; ValueError with the reason when it is malformed."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    if not isinstance(obj.get("id"), (str, int)) or isinstance(obj.get("id"), bool) or str(obj["id"]) == "":
        raise ValueError("missing or empty `id`")
    for key in ("text", "author", "time"):
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            raise ValueError(f"missing or empty `{key}` (a string)")
    try:
        validate_texts([obj["text"]])
    except InvalidTexts as e:
        raise ValueError(f"`text` {e.problem}") from None
    try:
        when = datetime.fromisoformat(obj["time"])
    except ValueError:
        raise ValueError(f"`time` {obj['time']!r} is not ISO 8601 (e.g. 2025-06-03T19:20:00+08:00)") from None
    if when.tzinfo is None:
        raise ValueError(f"`time` {obj['time']!r} has no UTC offset (e.g. +08:00 or Z)")
    for key in ("target", "thread"):
        if obj.get(key) is not None and not isinstance(obj[key], str):
            raise ValueError(f"`{key}` must be a string")
    attributes = obj.get("target_attributes") or []
    if isinstance(attributes, dict):
        attributes = [k for k, v in attributes.items() if v]
    if not isinstance(attributes, list) or any(a not in PROTECTED_ATTRIBUTES for a in attributes):
        raise ValueError(f"`target_attributes` must list some of {list(PROTECTED_ATTRIBUTES)}, got {attributes!r}")
    for key in ("id", "author", "target", "thread"):
        try:
            str(obj.get(key) or "").encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValueError(f"`{key}` is not valid Unicode: lone surrogate at character {e.start}") from None
    return Event(str(obj["id"]), when.timestamp(), obj["time"], obj["author"], obj["text"],
                 obj.get("target") or None, obj.get("thread") or None, sorted(set(attributes)))


@dataclass
class Seen:
    """What a target's window keeps of one event."""
    time: float
    event_id: str
    author: str
    violent: bool
    labels: tuple[str, ...]
    evidence: int | None
    # each flagged label's probability, 1.0 where the PII rule raised it: what a rule's min_probability reads
    scores: dict[str, float] = field(default_factory=dict)


@dataclass
class Result:
    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)  # {"line", "reason"}
    alerts: list[dict] = field(default_factory=list)  # opened by this batch


class Monitor:
    def __init__(self, classifier, store: Store, config: MonitorConfig, announce=None, artifact: dict | None = None):
        """classifier: a runtime Classifier (or anything with its labels, thresholds and predict_proba, given
        with `artifact`, what evidence records say scored the events)."""
        self.classifier, self.store, self.config = classifier, store, config
        self.announce = announce or (lambda alert: None)
        self.artifact = artifact or artifact_info(classifier)
        self.span = config.longest_window_minutes * 60
        self.rebuild()

    @classmethod
    def open(cls, classifier, url: str, config: MonitorConfig, announce=None) -> "Monitor":
        return cls(classifier, open_store(url), config, announce)

    # --- state rebuilt from the database ----------------------------------------------------------------

    def rebuild(self) -> None:
        s = self.store
        self.chain = Chain(s)
        self.seq = s.one("SELECT MAX(seq) FROM events") or 0
        self.thread_targets: dict[str, str] = {}
        for thread, target in s.query("SELECT thread, target FROM events WHERE target_source = 'explicit' "
                                      "AND thread IS NOT NULL ORDER BY seq"):
            self.thread_targets.setdefault(thread, target)
        self.attributes: dict[str, set[str]] = {name: set(json.loads(a)) for name, a in
                                                s.query("SELECT name, attributes FROM targets")}
        self.totals: dict[str, list[int]] = {t: [int(n), int(v)] for t, n, v in s.query(
            "SELECT target, COUNT(*), SUM(violent) FROM events WHERE target IS NOT NULL GROUP BY target")}
        self.windows: dict[str, deque[Seen]] = {}
        rows = s.query("SELECT e.time, e.id, e.author, e.violent, e.labels, e.evidence_seq, e.target, e.probs, "
                       "e.pii FROM events e "
                       "JOIN (SELECT target, MAX(time) AS last FROM events GROUP BY target) m ON e.target = m.target "
                       "WHERE e.time > m.last - ? ORDER BY e.time, e.seq", (self.span,))
        for t, event_id, author, violent, labels, evidence, target, probs, pii in rows:
            labels = tuple(json.loads(labels))
            self.windows.setdefault(target, deque()).append(Seen(t, event_id, author, bool(violent), labels, evidence,
                                                                 rule_scores(labels, json.loads(probs), json.loads(pii))))
        self.open_alerts = {(a["target"], a["rule"]): public(a) for a in self.alerts(status="open")}
        self.clock = max((w[-1].time for w in self.windows.values()), default=0.0)
        s.commit()

    def announce_pending(self) -> list[dict]:
        """Alerts committed by a run that died before announcing them."""
        pending = [public(a) for a in self.alerts() if not a["_announced"]]
        self._announce(pending)
        return pending

    # --- one batch ---------------------------------------------------------------------------------------

    def process(self, objs: list, lines: list[int] | None = None, source: str = "api",
                raw: list[str] | None = None, cursor: tuple[str, int, int] | None = None) -> Result:
        """Events as parsed JSON values (or a ValueError naming why a line could not be parsed), with their
        line numbers in `source`; `cursor` (source, byte offset, line) is committed with them."""
        lines = lines or list(range(1, len(objs) + 1))
        result, events = Result(), []
        now = time.time()
        try:
            for i, (obj, line) in enumerate(zip(objs, lines)):
                try:
                    if isinstance(obj, Exception):
                        raise obj
                    events.append(parse_event(obj))
                except ValueError as e:
                    text = raw[i] if raw else json.dumps(obj, ensure_ascii=False, default=str)
                    # a lone surrogate (valid JSON, not UTF-8) is kept as its escape: the database takes UTF-8 only
                    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
                    result.rejected.append({"line": line, "reason": str(e)})
                    self.store.execute("INSERT INTO rejects VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                                       (source, line, hashlib.sha256(text.encode("utf-8")).hexdigest(),
                                        str(e), text[:MAX_REJECT_CHARS], now))
            known = self._known([e.id for e in events])
            fresh, fresh_ids = [], set()
            for event in events:
                if event.id in known or event.id in fresh_ids:
                    result.duplicates.append(event.id)
                else:
                    fresh.append(event)
                    fresh_ids.add(event.id)
            probs = self.classifier.predict_proba([e.text for e in fresh]) if fresh else []
            opened = []
            for event, row in zip(fresh, probs):
                opened += self._one(event, row, now)
                result.accepted.append(event.id)
            if cursor:
                self.store.execute("INSERT INTO cursors VALUES (?, ?, ?) ON CONFLICT (source) DO UPDATE SET "
                                   "byte_offset = excluded.byte_offset, line = excluded.line", cursor)
            self.store.commit()
        except BaseException:
            self.store.rollback()
            self.rebuild()  # the in-memory windows saw events the database did not keep
            raise
        self._announce(opened)
        result.alerts = opened
        return result

    def _known(self, ids: list[str]) -> set[str]:
        known: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            known |= {r[0] for r in self.store.query(f"SELECT id FROM events WHERE id IN ({marks})", chunk)}
        return known

    def _resolve(self, event: Event) -> tuple[str | None, str]:
        if event.target:
            if event.thread:
                self.thread_targets.setdefault(event.thread, event.target)
            return event.target, "explicit"
        mention = MENTION.search(event.text)
        if mention:
            return mention.group(1), "mention"
        if event.thread:
            return self.thread_targets.get(event.thread, f"thread:{event.thread}"), "thread"
        return None, "none"

    def _mark_protected(self, target: str, event: Event) -> set[str]:
        marks = set(event.attributes)
        source = "metadata" if marks else "text rule"
        for attribute, words in self.config.protected.text_rules.items():
            if any(word in event.text for word in words):
                marks.add(attribute)
        known = self.attributes.setdefault(target, set())
        if not marks - known:
            return known
        known |= marks
        self.store.execute("INSERT INTO targets VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                           "attributes = excluded.attributes", (target, dumps(sorted(known)), source))
        return known

    def _one(self, event: Event, probs, now: float) -> list[dict]:
        labels_model = [name for name, p, t in zip(self.classifier.labels, probs, self.classifier.thresholds) if p >= t]
        pii = detect(event.text)
        labels = set(labels_model)
        if raises_privacy(pii):
            labels |= {"privacy", "violent"}
        ordered = tuple(name for name in self.classifier.labels if name in labels)
        target, target_source = self._resolve(event)
        attributes = self._mark_protected(target, event) if target else set()
        self.seq += 1
        fired: list[tuple[str, dict]] = []
        seen = None
        scores = {name: round(float(p), 6) for name, p in zip(self.classifier.labels, probs)}
        if target:
            fired, seen = self._window(target, event, ordered, rule_scores(ordered, scores, pii), bool(attributes))
        text_sha256 = hashlib.sha256(event.text.encode("utf-8")).hexdigest()
        evidence = None
        if ordered:
            evidence = self.chain.append({
                "event_id": event.id, "text": event.text if self.config.evidence.store_text else None,
                "text_sha256": text_sha256, "time": event.time_text, "received": iso(now), "author": event.author,
                "target": target, "target_source": target_source, "thread": event.thread,
                "protected": sorted(attributes), "artifact": self.artifact, "probs": scores,
                "labels": list(ordered), "model_labels": labels_model, "pii": pii, "rules": [r for r, _ in fired]})
            if seen:
                seen.evidence = evidence
        self.store.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (
            event.id, self.seq, event.time, event.time_text, now, event.author, target, target_source, event.thread,
            dumps(sorted(attributes)), text_sha256, dumps(scores), dumps(list(ordered)),
            dumps(pii), int("violent" in ordered), evidence))
        opened = []
        for rule, counts in fired:
            alert = self._alert(target, rule, counts, event, attributes, now)
            if alert:
                opened.append(alert)
        return opened

    # --- windows and rules -------------------------------------------------------------------------------

    def _window(self, target: str, event: Event, labels: tuple[str, ...], scores: dict[str, float],
                protected: bool) -> tuple[list[tuple[str, dict]], Seen]:
        window = self.windows.setdefault(target, deque())
        seen = Seen(event.time, event.id, event.author, "violent" in labels, labels, None, scores)
        if window and window[-1].time > event.time:  # late event: keep the window in time order
            items = sorted([*window, seen], key=lambda s: s.time)
            window.clear()
            window.extend(items)
        else:
            window.append(seen)
        latest = window[-1].time
        while window and window[0].time <= latest - self.span:
            window.popleft()
        totals = self.totals.setdefault(target, [0, 0])
        totals[0] += 1
        totals[1] += seen.violent
        self.clock = max(self.clock, event.time)
        if self.seq % EVICT_EVERY == 0:
            self._evict_idle()
        rules = self.config.protected.rules if protected else self.config.rules
        return self._check(rules, window, totals, seen), seen

    def _check(self, rules: Rules, window: deque, totals: list[int], seen: Seen) -> list[tuple[str, dict]]:
        fired: list[tuple[str, dict]] = []
        now = seen.time
        pile = rules.pile_on
        flagged = sorted(set(seen.labels) & set(rules.instant))
        recent = pile_on_window(rules, window, now) if seen.violent or flagged else []
        instant = [label for label in flagged if counts(rules, seen, label)]
        if rules.instant_corroboration and len({s.author for s in recent} - {seen.author}) >= rules.instant_corroboration:
            instant = flagged
        if instant:
            fired.append(("instant", {"labels": instant}))
        if seen.violent:
            authors = {s.author for s in recent}
            if len(recent) >= pile.min_violent and len(authors) >= pile.min_authors:
                fired.append(("pile_on", {"violent": len(recent), "authors": len(authors),
                                          "window_minutes": pile.window_minutes}))
            surge = rules.surge
            recent_all = [s for s in window if now - surge.window_minutes * 60 < s.time <= now]
            n, v = len(recent_all), sum(s.violent for s in recent_all)
            base_n, base_v = totals[0] - n, totals[1] - v
            if n >= surge.min_window_comments and base_n >= surge.min_baseline_comments:
                share, baseline = v / n, max(base_v / base_n, surge.baseline_floor)
                if share >= surge.min_window_share and share >= surge.factor * baseline:
                    fired.append(("surge", {"window_comments": n, "window_violent": v, "window_share": round(share, 4),
                                            "baseline_comments": base_n, "baseline_share": round(base_v / base_n, 4),
                                            "window_minutes": surge.window_minutes}))
        return fired

    def _evict_idle(self) -> None:
        """Targets quiet for longer than the longest window hold nothing any rule reads: memory stays flat
        however many targets a stream has (their baselines are two integers each)."""
        for target in [t for t, w in self.windows.items() if not w or w[-1].time <= self.clock - self.span]:
            del self.windows[target]

    # --- alerts ------------------------------------------------------------------------------------------

    def _alert(self, target: str, rule: str, counts: dict, event: Event, attributes: set[str], now: float) -> dict | None:
        """Opens an alert (returned, to be announced) or updates the open one for (target, rule)."""
        window = self.windows[target]
        if rule == "instant":
            members = [s for s in window if s.event_id == event.id]
        else:
            minutes = counts["window_minutes"]
            members = [s for s in window if event.time - minutes * 60 < s.time <= event.time and s.violent]
        evidence = [s.evidence for s in members if s.evidence is not None]
        priority = self.config.priority[rule] + (self.config.protected.priority_boost if attributes else 0)
        current = self.open_alerts.get((target, rule))
        if current and self.store.one("SELECT status FROM alerts WHERE id = ?", (current["id"],)) != "open":
            current = None  # closed by `cvguard alerts --close` while this monitor ran: the next one is new
        if current:
            new = [s for s in members if s.evidence is not None and s.evidence not in set(current["evidence_ids"])]
            categories = dict(current["categories"])
            for name, count in _categories(new).items():
                categories[name] = categories.get(name, 0) + count
            current.update(last_event=event.id, last_time=iso(event.time), counts=counts, priority=priority,
                           protected=bool(attributes), attributes=sorted(attributes), categories=categories,
                           evidence_ids=sorted(set(current["evidence_ids"]) | set(evidence)))
            self.store.execute("UPDATE alerts SET last_event = ?, last_time = ?, counts = ?, priority = ?, protected = ?, "
                               "attributes = ?, evidence_ids = ?, categories = ?, updated = ? WHERE id = ?",
                               (event.id, event.time, dumps(counts), priority, int(bool(attributes)),
                                dumps(sorted(attributes)), dumps(current["evidence_ids"]), dumps(categories), now,
                                current["id"]))
            return None
        first = min(members, key=lambda s: s.time) if members else None
        alert: dict = {"id": f"{rule}:{target}:{event.id}", "target": target, "rule": rule, "priority": priority,
                 "protected": bool(attributes), "attributes": sorted(attributes), "status": "open",
                 "opened": iso(now), "first_event": first.event_id if first else event.id,
                 "last_event": event.id, "first_time": iso(first.time if first else event.time),
                 "last_time": iso(event.time), "counts": counts, "categories": _categories(members),
                 "evidence_ids": sorted(evidence)}
        self.store.execute("INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)", (
            alert["id"], target, rule, priority, int(bool(attributes)), dumps(alert["attributes"]), "open", now,
            alert["first_event"], event.id, first.time if first else event.time, event.time, dumps(counts),
            dumps(alert["categories"]), dumps(alert["evidence_ids"]), now))
        self.open_alerts[(target, rule)] = alert
        return alert

    def _announce(self, alerts: list[dict]) -> None:
        for alert in alerts:
            self.announce(alert)
        if alerts:
            self.store.executemany("UPDATE alerts SET announced = 1 WHERE id = ?", [(a["id"],) for a in alerts])
            self.store.commit()

    def alerts(self, status: str | None = None, target: str | None = None) -> list[dict]:
        """Alerts, highest priority first (then the earliest opened); `_announced` only for announce_pending."""
        return list_alerts(self.store, status, target)


def close_alert(store: Store, alert_id: str) -> bool:
    """Marks an alert handled; the target's next match of the rule opens a new one. False if no open alert has the id."""
    closed = store.execute("UPDATE alerts SET status = 'closed', updated = ? WHERE id = ? AND status = 'open'",
                           (time.time(), alert_id)).rowcount
    store.commit()
    return closed == 1


ALERT_COLUMNS = ("id, target, rule, priority, protected, attributes, status, opened, first_event, last_event, "
                 "first_time, last_time, counts, categories, evidence_ids, announced")


def list_alerts(store: Store, status: str | None = "open", target: str | None = None) -> list[dict]:
    where, params = [], []
    if status:
        where.append("status = ?")
        params.append(status)
    if target:
        where.append("target = ?")
        params.append(target)
    sql = f"SELECT {ALERT_COLUMNS} FROM alerts" + (f" WHERE {' AND '.join(where)}" if where else "")
    rows = store.query(sql + " ORDER BY priority DESC, opened, id", params)
    store.commit()  # end the read transaction: a long-lived reader must not pin SQLite's WAL
    out = []
    for (id_, target_, rule, priority, protected, attributes, status_, opened, first_event, last_event, first_time,
         last_time, counts, categories, evidence_ids, announced) in rows:
        out.append({"id": id_, "target": target_, "rule": rule, "priority": int(priority), "protected": bool(protected),
                    "attributes": json.loads(attributes), "status": status_, "opened": iso(opened),
                    "first_event": first_event, "last_event": last_event, "first_time": iso(first_time),
                    "last_time": iso(last_time), "counts": json.loads(counts), "categories": json.loads(categories),
                    "evidence_ids": json.loads(evidence_ids), "_announced": bool(announced)})
    return out


def rule_scores(labels, probs: dict[str, float], pii: list[dict]) -> dict[str, float]:
    """The probability of each flagged label, for the rules' min_probability; the PII rule's own flags are certain."""
    raised = {"privacy", "violent"} if raises_privacy(pii) else set()
    return {name: 1.0 if name in raised else float(probs.get(name, 1.0)) for name in labels}


def counts(rules: Rules, seen: Seen, label: str) -> bool:
    """Whether a comment counts as `label` for these rules: flagged, and at least the rules' min_probability."""
    return label in seen.labels and seen.scores.get(label, 1.0) >= rules.min_probability.get(label, 0.0)


def pile_on_window(rules: Rules, window: deque, now: float) -> list[Seen]:
    """The violent comments the pile_on rule counts at `now`: in its window, over min_probability, and with
    skip_regulars, not by an author who was at the target calmly before the window's first violent comment."""
    pile = rules.pile_on
    recent = [s for s in window if now - pile.window_minutes * 60 < s.time <= now and counts(rules, s, "violent")]
    if pile.skip_regulars and recent:
        regulars = {s.author for s in window if s.time < recent[0].time and not s.violent}
        recent = [s for s in recent if s.author not in regulars]
    return recent


def public(alert: dict) -> dict:
    return {k: v for k, v in alert.items() if not k.startswith("_")}


def _categories(members) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in members:
        for name in s.labels:
            if name != "violent":
                counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def artifact_info(classifier) -> dict:
    """What evidence records say about the model: the artifact's id (the sha256 of its manifest as canonical
    JSON; the manifest lists every file's sha256), the variant, its file's sha256 and the thresholds."""
    manifest = classifier.manifest
    return {"id": hashlib.sha256(dumps(manifest.to_dict()).encode("utf-8")).hexdigest(), "variant": classifier.variant,
            "sha256": manifest.variants[classifier.variant].sha256 if classifier.variant else None,
            "thresholds": manifest.thresholds}
