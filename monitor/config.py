"""The monitor's settings: configs/monitor.yaml -> these dataclasses -> the engine. Defaults live here only."""

from dataclasses import dataclass, field
from pathlib import Path

from cvguard.config import _build, read_yaml

PROTECTED_ATTRIBUTES = ("minor", "elderly", "disabled")


@dataclass
class PileOn:
    """>= min_violent violent comments from >= min_authors distinct authors within window_minutes."""
    min_violent: int = 5
    min_authors: int = 4
    window_minutes: float = 60.0
    # True: authors who were at the target calmly (a comment not flagged violent) before the window's first
    # violent comment are its regulars, not a pile-on: neither they nor their comments are counted.
    skip_regulars: bool = False


@dataclass
class Surge:
    """The violent share of a target's last window_minutes rising `factor` times over its own earlier share."""
    factor: float = 3.0
    window_minutes: float = 60.0
    min_window_comments: int = 8
    min_baseline_comments: int = 20
    # An earlier share of 0 would make any violent comment an infinite rise: the baseline is never below this.
    baseline_floor: float = 0.05
    min_window_share: float = 0.3


@dataclass
class Rules:
    pile_on: PileOn = field(default_factory=PileOn)
    surge: Surge = field(default_factory=Surge)
    # Any comment flagged with one of these labels alerts at once.
    instant: list[str] = field(default_factory=lambda: ["threat", "privacy"])
    # A flagged comment counts for these rules (violent: pile_on; the instant labels: instant) only when its
    # probability is at least this; labels not named: their threshold. The PII rule's privacy flags always
    # count. A floor above the threshold keeps a model's borderline false flags out of the alerts.
    min_probability: dict[str, float] = field(default_factory=dict)
    # > 0: an instant label under its min_probability still alerts once this many other authors have a violent
    # comment (one that counts for pile_on) at the target within pile_on's window. 0: it never does.
    instant_corroboration: int = 0


def _protected_rules() -> Rules:
    return Rules(pile_on=PileOn(min_violent=3, min_authors=2, window_minutes=180.0),
                 surge=Surge(factor=2.0, window_minutes=120.0, min_window_comments=5, min_baseline_comments=10))


@dataclass
class Protected:
    """Minors, elderly and disabled targets (the Provisions' Art. 20-21): stricter rules, a higher priority."""
    rules: Rules = field(default_factory=_protected_rules)
    priority_boost: int = 100
    # A target is marked protected when a comment about it names one of these words. Deliberately broad: a
    # wrong mark only moves an alert up the queue and tightens the thresholds, it flags no comment.
    text_rules: dict[str, list[str]] = field(default_factory=lambda: {
        "minor": ["小学生", "初中生", "中学生", "高中生", "孩子", "小孩", "未成年", "学生娃", "小朋友"],
        "elderly": ["老人", "大爷", "大妈", "老太", "老头", "奶奶", "爷爷", "老大娘"],
        "disabled": ["残疾", "聋哑", "盲人", "瘸", "轮椅", "智障", "自闭症"],
    })


@dataclass
class Evidence:
    store_text: bool = True  # False keeps only the text's sha256 in evidence records (a privacy setting)


@dataclass
class Webhook:
    url: str = ""  # "" = no webhook
    retries: int = 3
    backoff_seconds: float = 0.5  # doubled after every failed try
    timeout_seconds: float = 5.0


@dataclass
class MonitorConfig:
    rules: Rules = field(default_factory=Rules)
    protected: Protected = field(default_factory=Protected)
    evidence: Evidence = field(default_factory=Evidence)
    webhook: Webhook = field(default_factory=Webhook)
    # An alert's priority: its rule's base, plus protected.priority_boost for a protected target.
    priority: dict[str, int] = field(default_factory=lambda: {"instant": 80, "pile_on": 60, "surge": 40})
    batch_size: int = 64  # events scored per onnxruntime call and committed per transaction

    @property
    def longest_window_minutes(self) -> float:
        return max(r.pile_on.window_minutes for r in (self.rules, self.protected.rules)) + \
            max(r.surge.window_minutes for r in (self.rules, self.protected.rules))


def load_monitor_config(path: str | Path | None = None, overrides=()) -> MonitorConfig:
    raw = read_yaml(path, overrides, "rules", "rules.pile_on.min_violent=3")
    return _build(MonitorConfig, raw, str(path or "monitor config"))
