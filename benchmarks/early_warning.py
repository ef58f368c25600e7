"""Early warning, measured: the incident-thread corpus (data/threads/threads.jsonl) replayed through the
monitor in time order, under several rule sets.

An incident is a pile-on when at least PILE_ON_VIOLENT violent comments from PILE_ON_AUTHORS authors are aimed
at its target, and a benign busy thread when it holds at most BENIGN_VIOLENT violent comments in all. Per rule
set it reports: pile-ons alerted (recall), benign threads alerted (false alerts), and, from the first violent
comment at the target to the alert, the median number of comments and minutes, and the share of pile-ons
alerted before a quarter of their violent comments had arrived (the goal: all of them; and at most 1 benign
thread in 10 alerted).

Scores come from an artifact (`--artifact`: the real runtime; use `--split eval`, the incidents no model
trained on) or, by default, from the corpus labels themselves (`--labels`): a perfect classifier, which
measures the rules alone. Each incident's target is kept apart (incident/target), its `target_attributes`
mark protected targets, and its thread is the incident.

    python -m benchmarks.early_warning                                   # rules alone, every incident
    python -m benchmarks.early_warning --artifact runs/default/artifact --split eval
    # a rules file for an artifact (configs/monitor-floors.yaml): choose its settings on dev, report eval once
    python -m benchmarks.early_warning --artifact ARTIFACT --split dev --rules configs/monitor-floors.yaml

A --rules file other than the built-in defaults is shown beside them (the first row).
"""

import argparse
import dataclasses
import json
import statistics
import tempfile
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import numpy as np

from benchmarks.machine import cpu_name
from cvguard.contracts import THREADS
from cvguard.data.sources import THREADS_FILE, bundled_folder
from cvguard.io import read_jsonl
from cvguard.monitor.config import MonitorConfig, Surge, load_monitor_config
from cvguard.monitor.engine import Monitor
from cvguard.monitor.pii import detect, raises_privacy
from cvguard.monitor.store import open_store
from cvguard.taxonomy import load_taxonomy

CORPUS = bundled_folder(THREADS) / THREADS_FILE
RULES = Path(__file__).resolve().parents[1] / "configs" / "monitor.yaml"
PILE_ON_VIOLENT, PILE_ON_AUTHORS, BENIGN_VIOLENT = 5, 3, 2
OFF = Surge(min_window_comments=10 ** 9)


class FixedScores:
    """Scores looked up by text: the corpus labels (1 or 0 at threshold 0.5, a perfect model), or an artifact's
    probabilities computed once, so that every rule set replays the same scores."""

    def __init__(self, labels: list[str], thresholds: np.ndarray, scores: dict[str, np.ndarray]):
        self.labels, self.thresholds, self.scores = labels, thresholds, scores

    @classmethod
    def from_labels(cls, rows: list[dict]) -> "FixedScores":
        labels = list(load_taxonomy().labels)
        scores = {r["text"]: np.array([float(r["labels"][n]) for n in labels], dtype=np.float32) for r in rows}
        return cls(labels, np.full(len(labels), 0.5, dtype=np.float32), scores)

    @classmethod
    def from_artifact(cls, classifier, rows: list[dict]) -> "FixedScores":
        texts = sorted({r["text"] for r in rows})
        return cls(classifier.labels, classifier.thresholds, dict(zip(texts, classifier.predict_proba(texts))))

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.array([self.scores[t] for t in texts], dtype=np.float32)


def rule_sets(base: MonitorConfig, name: str = "configs/monitor.yaml") -> dict[str, MonitorConfig]:
    no_surge = lambda r: dataclasses.replace(r, surge=OFF)
    only_pile = lambda r: dataclasses.replace(r, surge=OFF, instant=[])
    same = lambda config, rules: dataclasses.replace(config, rules=rules, protected=dataclasses.replace(
        config.protected, rules=rules))
    sets = {} if base == MonitorConfig() else {"built-in defaults (configs/monitor.yaml)": MonitorConfig()}
    return sets | {
        name: base,
        "pile-on rule only": dataclasses.replace(base, rules=only_pile(base.rules), protected=dataclasses.replace(
            base.protected, rules=only_pile(base.protected.rules))),
        "pile-on + instant (no surge)": dataclasses.replace(base, rules=no_surge(base.rules), protected=dataclasses.replace(
            base.protected, rules=no_surge(base.protected.rules))),
        "no stricter rules for protected targets": same(base, base.rules),
        "pile-on 3 from 3 in 60 min, no surge": same(base, dataclasses.replace(base.rules, surge=OFF, pile_on=dataclasses.replace(
            base.rules.pile_on, min_violent=3, min_authors=3))),
    }


def display(path: Path) -> str:
    """A rules file as the table names it: relative to the repository when it is inside it."""
    try:
        return str(path.resolve().relative_to(RULES.parents[1]))
    except ValueError:
        return str(path)


def replay(rows: list[dict], scorer, config: MonitorConfig, folder: Path, artifact: dict | None) -> list[tuple]:
    """(incident, target, event id, rule) of each rule firing, read back from the evidence records."""
    store = open_store(folder / "replay.db")
    monitor = Monitor(scorer, store, config, artifact=artifact)
    events = [{"id": r["id"], "time": r["time"], "author": r["author"], "text": r["text"],
               "target": f"{r['incident']}/{r['target']}", "thread": r["incident"],
               "target_attributes": r["target_attributes"]} for r in rows]
    for start in range(0, len(events), 256):
        monitor.process(events[start:start + 256])
    fired = []
    for (record,) in store.query("SELECT record FROM evidence ORDER BY seq"):
        record = json.loads(record)
        for rule in record["rules"]:
            fired.append((record["thread"], record["target"], record["event_id"], rule))
    store.close()
    return fired


def measure(rows: list[dict], fired: list[tuple]) -> dict:
    by_incident = defaultdict(list)
    for r in rows:
        by_incident[r["incident"]].append(r)
    first_alert: dict[str, tuple[str, str]] = {}
    thread_rules = defaultdict(set)
    for incident, target, event_id, rule in fired:
        thread_rules[incident].add(rule)
        first_alert.setdefault(target, (event_id, rule))
    pile_ons, benign, delays, minutes, fractions = [], [], [], [], []
    for incident, comments in by_incident.items():
        comments.sort(key=lambda r: (r["time"], r["id"]))
        target = comments[0]["target"]
        at_target = [r for r in comments if r["labels"]["violent"] and r["target"] == target]
        if len(at_target) >= PILE_ON_VIOLENT and len({r["author"] for r in at_target}) >= PILE_ON_AUTHORS:
            pile_ons.append(incident)
            alert = first_alert.get(f"{incident}/{target}")
            if alert is None:
                continue
            ids = [r["id"] for r in comments]
            start, end = ids.index(at_target[0]["id"]), ids.index(alert[0])
            delays.append(max(end - start, 0) + 1)
            when = lambda r: datetime.fromisoformat(r["time"]).timestamp()
            minutes.append(max(when(comments[end]) - when(comments[start]), 0) / 60)
            fractions.append(sum(1 for r in at_target if ids.index(r["id"]) <= end) / len(at_target))
        elif sum(r["labels"]["violent"] for r in comments) <= BENIGN_VIOLENT:
            benign.append(incident)
    alerted = len(fractions)
    return {"pile_ons": len(pile_ons), "alerted": alerted, "recall": alerted / max(len(pile_ons), 1),
            "benign": len(benign), "benign_alerted": sum(bool(thread_rules[i]) for i in benign),
            "benign_alerted_by_rule": {rule: sum(rule in thread_rules[i] for i in benign)
                                       for rule in ("instant", "pile_on", "surge")},
            "median_comments": statistics.median(delays) if delays else None,
            "median_minutes": statistics.median(minutes) if minutes else None,
            "before_quarter": sum(f < 0.25 for f in fractions) / max(len(pile_ons), 1)}


def pii_effect(rows: list[dict]) -> dict:
    """The PII rule alone against the corpus's privacy labels, row by row."""
    rule = np.array([raises_privacy(detect(r["text"])) for r in rows])
    gold = np.array([bool(r["labels"]["privacy"]) for r in rows])
    tp = int((rule & gold).sum())
    return {"rows": len(rows), "privacy_rows": int(gold.sum()), "rule_flags": int(rule.sum()), "true": tp,
            "precision": tp / max(int(rule.sum()), 1), "recall": tp / max(int(gold.sum()), 1)}


def evaluate_flags(rows: list[dict], scorer: FixedScores) -> dict:
    """The artifact's own flags on the replayed comments, and what the PII rule adds to `privacy`."""
    probs = scorer.predict_proba([r["text"] for r in rows]) >= scorer.thresholds
    column = {name: probs[:, i] for i, name in enumerate(scorer.labels)}
    gold = {name: np.array([bool(r["labels"][name]) for r in rows]) for name in ("violent", "privacy")}
    pii = np.array([raises_privacy(detect(r["text"])) for r in rows])
    ratio = lambda a, b: float(a.sum() / max(int(b.sum()), 1))
    privacy, with_pii = column["privacy"], column["privacy"] | pii
    return {"violent_recall": ratio(column["violent"] & gold["violent"], gold["violent"]),
            "violent_precision": ratio(column["violent"] & gold["violent"], column["violent"]),
            "privacy_recall": ratio(privacy & gold["privacy"], gold["privacy"]),
            "privacy_recall_with_pii": ratio(with_pii & gold["privacy"], gold["privacy"]),
            "privacy_precision": ratio(privacy & gold["privacy"], privacy),
            "privacy_precision_with_pii": ratio(with_pii & gold["privacy"], with_pii)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", type=Path, help="score with this artifact; omitted = the corpus labels")
    parser.add_argument("--split", default="all", choices=["all", "train", "dev", "eval"])
    parser.add_argument("--rules", type=Path, default=RULES)
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    rows = [r for r in read_jsonl(CORPUS) if args.split == "all" or r["split"] == args.split]
    rows.sort(key=lambda r: (datetime.fromisoformat(r["time"]).timestamp(), r["id"]))
    if args.artifact:
        from cvguard.export.runtime import Classifier
        from cvguard.monitor.engine import artifact_info

        classifier = Classifier.load(args.artifact)
        scorer, artifact = FixedScores.from_artifact(classifier, rows), artifact_info(classifier)
        source = f"{args.artifact} ({classifier.variant})"
        model = evaluate_flags(rows, scorer)
        print(f"the artifact's flags on these comments: violent recall {model['violent_recall']:.2f}, "
              f"precision {model['violent_precision']:.2f}; privacy recall {model['privacy_recall']:.2f}, "
              f"with the PII rule {model['privacy_recall_with_pii']:.2f} (precision {model['privacy_precision']:.2f}, "
              f"with the PII rule {model['privacy_precision_with_pii']:.2f})")
    else:
        scorer, source = FixedScores.from_labels(rows), "corpus labels"
        artifact = {"id": "corpus-labels", "variant": None, "sha256": None, "thresholds": {}}
    base = load_monitor_config(args.rules)
    results = {}
    print(f"machine: {cpu_name()}; rules: {args.rules}")
    print(f"{len(rows)} comments, {len({r['incident'] for r in rows})} incidents (split {args.split}), scored by {source}\n")
    print("| rule set | pile-ons alerted | benign threads alerted (instant / pile-on / surge) | median comments to alert "
          "| median minutes | alerted before 1/4 of the violent comments |\n|---|---:|---:|---:|---:|---:|")
    for name, config in rule_sets(base, display(args.rules)).items():
        with tempfile.TemporaryDirectory() as folder:
            figures = measure(rows, replay(rows, scorer, config, Path(folder), artifact))
        results[name] = figures
        fmt = lambda x: "-" if x is None else f"{x:.1f}"
        by_rule = " / ".join(map(str, figures["benign_alerted_by_rule"].values()))
        print(f"| {name} | {figures['alerted']}/{figures['pile_ons']} ({figures['recall']:.0%}) | "
              f"{figures['benign_alerted']}/{figures['benign']} ({by_rule}) | "
              f"{fmt(figures['median_comments'])} | "
              f"{fmt(figures['median_minutes'])} | {figures['before_quarter']:.0%} |")
    pii = pii_effect(rows)
    print(f"\nPII rule alone vs the privacy labels: {pii['true']} of {pii['rule_flags']} flags right "
          f"(precision {pii['precision']:.2f}), {pii['true']} of {pii['privacy_rows']} privacy rows caught "
          f"(recall {pii['recall']:.2f})")
    if args.out:
        from cvguard.io import write_json

        write_json(args.out, {"source": source, "split": args.split, "rule_sets": results, "pii": pii,
                              "model": evaluate_flags(rows, scorer) if args.artifact else None})


if __name__ == "__main__":
    main()
