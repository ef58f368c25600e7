"""The evaluation report: `cvguard report` and `cvguard evaluate` write report.html, report.md and metrics.json
from stored predictions, and the HTML renders in a real browser with the tables a reviewer decides from.

The run is conftest.write_fake_run's: rows of every source, and two models where `cvguard` over-flags harmless
texts about `region`.
"""

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import REPO, write_fake_run

from cvguard.cli import main
from cvguard.contracts import EvaluationResults, LabelMetrics, RunDir
from cvguard.taxonomy import load_taxonomy

LABELS = load_taxonomy().labels


@pytest.fixture(scope="module")
def reported_run(tmp_path_factory) -> Path:
    run = write_fake_run(tmp_path_factory.mktemp("fake") / "run")
    main(["report", str(run)])
    return run


class Tables(HTMLParser):
    """Collects every <table id=...> of a page as a list of rows of cell texts (header row first)."""

    def __init__(self):
        super().__init__()
        self.tables, self.current, self.row, self.cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.current = self.tables.setdefault(dict(attrs).get("id"), [])
        elif tag == "tr" and self.current is not None:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.current.append(self.row)
            self.row = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def parse_tables(html_text: str) -> dict:
    parser = Tables()
    parser.feed(html_text)
    return parser.tables


def column(table: list[list[str]], name: str) -> list[str]:
    index = table[0].index(name)
    return [row[index] for row in table[1:]]


def read_results(run: Path) -> EvaluationResults:
    return EvaluationResults.read(RunDir(run).metrics)


def test_report_writes_html_markdown_and_metrics_with_every_model(reported_run):
    assert set(read_results(reported_run).models) == {"cvguard", "tfidf_baseline"}
    page = (reported_run / "report.html").read_text()
    assert "<script" not in page and 'src="http' not in page  # self-contained: nothing fetched
    assert page.count('src="data:image/png;base64,') >= 8
    tables = parse_tables(page)
    for table_id in ("verdict-table", "thresholds-table", "labels-public", "labels-mhc", "labels-seed",
                     "bias-auc-cold", "bias-rates-toxicn", "bias-auc-mhc", "counter-speech", "counter-speech-groups",
                     "calibration-public"):
        assert set(column(tables[table_id], "model")) == {"cvguard", "tfidf_baseline"}, table_id
    assert tables["hatecheck-functionality"][0][-2:] == ["cvguard accuracy (95% CI)",
                                                         "tfidf_baseline accuracy (95% CI)"]
    markdown = (reported_run / "report.md").read_text()
    assert "| violent 网络暴力信息 |" in markdown and "[AUTHORED DATA]" in markdown
    assert RunDir(reported_run).thresholds.is_file()


def test_report_numbers_come_from_metrics_json(reported_run):
    tables = parse_tables((reported_run / "report.html").read_text())
    m = read_results(reported_run)["cvguard"].blocks["public"].labels["violent"]
    assert isinstance(m, LabelMetrics)
    row = next(r for r in tables["labels-public"][1:] if r[0] == "violent 网络暴力信息" and r[1] == "cvguard")
    lo, hi = m.recall_ci
    assert row[5] == f"{100 * m.recall:.1f}% ({100 * lo:.1f}–{100 * hi:.1f})"
    assert row[3] == str(m.support)


def test_metrics_json_round_trips_through_evaluation_results(reported_run, tmp_path):
    path = RunDir(reported_run).metrics
    results = EvaluationResults.read(path)
    results.write(tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == path.read_bytes()
    assert EvaluationResults.read(tmp_path / "again.json") == results


def test_committed_reference_metrics_load_with_the_same_numbers():
    """The first reference run's metrics.json predates schema_version: the models sit at the top level."""
    import dataclasses
    import json

    path = REPO / "docs" / "reports" / "public-2026-11-27" / "metrics.json"
    results = EvaluationResults.read(path)
    assert results["cvguard"].verdict.block == "public"

    def without_new_defaults(loaded, raw):
        """Fields added since the file was written load as their defaults (None or ""); drop those."""
        if isinstance(loaded, dict) and isinstance(raw, dict):
            return {k: without_new_defaults(v, raw.get(k)) for k, v in loaded.items()
                    if k in raw or v not in (None, "")}
        if isinstance(loaded, list) and isinstance(raw, list):
            return [without_new_defaults(v, r) for v, r in zip(loaded, raw)]
        return loaded

    raw = json.loads(path.read_text())
    loaded = {name: dataclasses.asdict(m) for name, m in results.models.items()}
    assert without_new_defaults(loaded, raw) == raw


def test_malformed_metrics_say_which_file(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text('{"schema_version": 2, "models": {"cvguard": {"model": "cvguard"}}}')
    with pytest.raises(ValueError, match="malformed metrics"):
        EvaluationResults.read(path)


def test_verdict_names_the_over_flagged_group_and_flags_thin_labels(reported_run):
    results = read_results(reported_run)
    verdict = results["cvguard"].verdict
    assert verdict.block == "public" and not verdict.authored
    # Public test data has no defamation, privacy or mockery positives: flagged, not hidden.
    assert {"defamation", "privacy", "mockery"} <= set(verdict.too_few)
    assert verdict.labels["defamation"].support == 0
    top = verdict.largest_gaps[0]
    assert top.rate == "fpr" and top.high_group == "region"
    # The baseline was built without the region bias, so its gap is smaller.
    assert top.gap > results["tfidf_baseline"].bias[top.source].fpr_gap.gap + 0.1


def test_hatecheck_uses_original_gold_and_marks_remapped_functionalities(reported_run):
    hc = read_results(reported_run)["cvguard"].hatecheck
    funcs = hc.by_functionality
    assert funcs["target_indiv_nh"].gold == "non-hateful" and funcs["target_indiv_nh"].differs
    assert funcs["target_indiv_nh"].our_labels == "violent, insult"
    assert funcs["target_group_nh"].our_labels == "unknown" and funcs["target_group_nh"].differs
    assert not funcs["threat_dir_h"].differs and not funcs["counter_quote_nh"].differs
    assert set(hc.by_target) == {"women", "gay people", "Muslims"}


def test_evaluate_skip_predict_ends_with_the_same_report(tmp_path):
    run = write_fake_run(tmp_path / "run")
    main(["evaluate", str(run / "config.yaml"), "--skip-predict"])
    tables = parse_tables((run / "report.html").read_text())
    assert len(tables["verdict-table"]) == 1 + 2 * len(LABELS)


def test_report_page_renders_in_headless_chromium(reported_run, tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not on PATH (Debian: apt-get install chromium)")
    screenshot = tmp_path / "report.png"
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,2400", f"--screenshot={screenshot}",
         "--dump-dom", (reported_run / "report.html").as_uri()],
        capture_output=True, text=True, timeout=120, check=True)
    tables = parse_tables(result.stdout)
    verdict = tables["verdict-table"]
    assert verdict[0][:5] == ["label", "judged on", "recall target", "test positives", "model"]
    assert {row[0] for row in verdict[1:]} == {f"{k} {load_taxonomy().names[k]['zh']}" for k in LABELS}
    assert {row[-1] for row in verdict[1:]} <= {"meets target", "below target", "too little data"}
    assert "region" in column(tables["bias-rates-cold"], "group")
    # A screenshot of the requested size; a blank page would compress to a few kB.
    png = screenshot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1280, 2400)
    assert re.search(r'<figure id="recall-public"><img', result.stdout)
