"""The benchmark scripts import as package modules and parse their arguments, so a renamed cvguard API or a
sys.path trick breaks CI here rather than on the day someone reruns a benchmark."""

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = ["artifact_speed", "batch_scoring", "counter_speech", "early_warning", "explicit_threats", "gpu_check",
           "inference", "monitor", "score_incidents", "serve_load", "training", "violent_rule"]


@pytest.mark.parametrize("name", SCRIPTS)
def test_benchmark_imports_as_a_package_module_and_prints_its_help(name, capsys):
    module = importlib.import_module(f"benchmarks.{name}")
    with pytest.raises(SystemExit) as done:
        module.main(["--help"])
    assert done.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_a_benchmark_runs_as_a_module_from_the_repo_root():
    # As docs/benchmarks.md runs them: -m from the repo root, no PYTHONPATH. gpu_check: the cheapest to start,
    # and the one run on a machine where nothing is installed.
    env = {"PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "benchmarks.gpu_check", "--help"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout


def test_cpu_name_is_a_non_empty_string():
    from benchmarks.machine import cpu_name

    assert cpu_name().strip()


def test_a_measured_child_that_writes_more_than_a_pipe_holds_still_finishes():
    # Ray Data logs its progress to stderr every few seconds; when run_measured read the child's output through
    # pipes only after it exited, a long Ray job filled the 64 KiB pipe buffer and hung (docs/benchmarks.md).
    from benchmarks.batch_scoring import run_measured

    chatty = "import sys; sys.stderr.write('x' * 1_000_000); print('done')"
    measured = run_measured([sys.executable, "-c", chatty])
    assert measured["stdout"].strip() == "done"
    assert not measured["killed"]


def test_score_incidents_scores_a_runs_model_on_the_chosen_evaluation_incidents(tmp_path, tiny_model_dir, capsys):
    from benchmarks import score_incidents
    from cvguard.config import ModelConfig
    from cvguard.taxonomy import load_taxonomy
    from cvguard.training.model import build_model, save_model

    model, tokenizer, _ = build_model(ModelConfig(model_name_or_path=str(tiny_model_dir), max_length=32),
                                   list(load_taxonomy().labels))
    save_model(model, tokenizer, tmp_path / "run" / "model")
    score_incidents.main([str(tmp_path / "run"), "--incidents", "e-d-010"])
    out = capsys.readouterr().out
    assert out.startswith("48 comments in 1 incidents")  # e-d-010: the opening post and 47 comments
    assert "| insult | " in out and "| mean PR-AUC, categories with positives | " in out
    assert "| threat | – · – |" in out  # the calm thread has no threat: no figure rather than a made-up one
    with pytest.raises(SystemExit, match="no evaluation incident starts with"):
        score_incidents.main([str(tmp_path / "run"), "--incidents", "t-a"])


def test_explicit_threats_scores_the_authored_triples_mhc_threat_rows_and_the_probes(tmp_path, tiny_model_dir, capsys):
    from benchmarks import explicit_threats
    from cvguard.config import ModelConfig
    from cvguard.contracts import RunDir
    from cvguard.io import write_jsonl
    from cvguard.taxonomy import load_taxonomy
    from cvguard.training.model import build_model, save_model

    model, tokenizer, _ = build_model(ModelConfig(model_name_or_path=str(tiny_model_dir), max_length=32),
                                   list(load_taxonomy().labels))
    run = RunDir(tmp_path / "run")
    save_model(model, tokenizer, run.root / "model")
    safe = {"violent": 0, "threat": 0}
    triple = [{"text": "我要杀了你", "source": "counterfactual", "theme": "cf-e-001", "labels": {"violent": 1, "threat": 1}},
              {"text": "有人扬言要杀了她，已报警", "source": "counterfactual", "theme": "cf-e-001", "labels": safe},
              {"text": "这局杀疯了", "source": "counterfactual", "theme": "cf-e-001", "labels": safe},
              {"text": "东北人都是黑社会", "source": "counterfactual", "theme": "cf-a-001",  # no threat: left out
               "groups": ["region"], "labels": {"violent": 1, "threat": 0}},
              {"text": "你怎么还不去死", "source": "counterfactual", "theme": "cf-j-001",  # a curse, not a threat
               "groups": ["individual"], "labels": {"violent": 1, "threat": 0}},
              {"text": "累死我了", "source": "counterfactual", "theme": "cf-j-001", "groups": ["individual"],
               "labels": safe}]
    rows = [{"text": "我想杀死所有女人。", "source": "mhc", "labels": {"violent": 1, "threat": 1}},
            {"text": "女人也可以当工程师。", "source": "mhc", "labels": safe},
            {"text": "不知道", "source": "mhc", "labels": {"threat": None}},  # threat unknown: left out
            {"text": "我要杀了你", "source": "cold", "labels": {"threat": 1}}]  # not MHC: left out
    run.split("test").parent.mkdir(parents=True)
    write_jsonl(run.split("dev"), triple)
    write_jsonl(run.split("test"), rows)
    explicit_threats.main([str(run.root)])
    out = capsys.readouterr().out
    assert out.startswith("dev triples: 3 rows, 1 threats\ntest triples: 0 rows, 0 threats\nMHC: 2 rows, 1 threats")
    threats, curses = out.split("\ncurses at one person")
    assert curses.startswith(" (dev + test triples): 1 curses, 1 harmless rows")
    curse_cells = [c.strip() for c in curses.strip().splitlines()[-1].split("|")[1:-1]]
    assert curse_cells[0] == "run" and len(curse_cells) == 6 and all(c != "–" for c in curse_cells)
    header, rule, row = threats.strip().splitlines()[-3:]
    assert header.startswith("| run | dev triples | test triples | MHC |") and "| 我要杀了你 |" in header
    cells = [c.strip() for c in row.split("|")[1:-1]]  # the run, three sets, the probes
    assert cells[0] == "run" and len(cells) == 1 + 3 + len(explicit_threats.PROBES)
    assert len(cells[1].split(" · ")) == 4 and cells[2] == "–"
    write_jsonl(run.split("test"), rows[2:])
    with pytest.raises(SystemExit, match="no MHC row with a threat label"):
        explicit_threats.main([str(run.root)])


def test_counter_speech_scores_the_held_out_check_and_the_public_counter_speech_beside_attacks(tmp_path, tiny_model_dir,
                                                                                               capsys):
    from benchmarks import counter_speech
    from cvguard.config import ModelConfig
    from cvguard.contracts import RunDir
    from cvguard.io import write_jsonl
    from cvguard.taxonomy import load_taxonomy
    from cvguard.training.model import build_model, save_model

    model, tokenizer, _ = build_model(ModelConfig(model_name_or_path=str(tiny_model_dir), max_length=32),
                                   list(load_taxonomy().labels))
    run = RunDir(tmp_path / "run")
    save_model(model, tokenizer, run.root / "model")
    check = tmp_path / "check.txt"
    check.write_text("region | attack | discrimination | 东北人都是骗子\n"
                     "region | counter | - | 说东北人都是骗子的人认识几个东北人？\n"
                     "region | neutral | - | 东北的冬天真冷\n", encoding="utf-8")
    run.split("test").parent.mkdir(parents=True)
    write_jsonl(run.split("test"), [
        {"text": "说女人都是垃圾的人，你自己想想", "source": "mhc", "subset": "counter_ref_nh", "labels": {"violent": 0}},
        {"text": "女人都是垃圾", "source": "mhc", "subset": "derog_dehum_h", "labels": {"violent": 1}},
        {"text": "地域黑要不得", "source": "cold", "subset": "anti_bias", "labels": {"violent": 0}},
        {"text": "今天天气不错", "source": "cold", "subset": "safe", "labels": {"violent": 0}}])  # not counter-speech
    counter_speech.main([str(run.root), "--test-from", str(run.root), "--check", str(check)])
    out = capsys.readouterr().out
    assert out.startswith("held-out check: 1 triples (check.txt); COLD anti-bias: 1, MHC counter_ref_nh: 1, "
                          "MHC hateful: 1\n")
    flags, ranks = out.split("\nROC-AUC")
    header, rule, row = flags.strip().splitlines()[-3:]
    # sets with no row get no column rather than a made-up figure
    assert header == ("| run | check attack | check counter | check neutral | COLD anti-bias | MHC counter_ref_nh | "
                      "MHC hateful |")
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[0] == "run" and len(cells) == 7 and all(c in ("0.0", "100.0") for c in cells[1:])
    # ranking needs both sides of a pair: COLD has counter-speech here but no attack, so only two pairs remain
    header, rule, row = ranks.strip().splitlines()[-3:]
    assert header == "| run | check: check attack vs check counter | MHC ref: MHC hateful vs MHC counter_ref_nh |"
    assert all(0 <= float(c) <= 100 for c in [c.strip() for c in row.split("|")[2:-1]])
    write_jsonl(run.split("test"), [{"text": "x", "source": "threads", "subset": "attack", "labels": {"violent": 1}}])
    with pytest.raises(SystemExit, match="no COLD, ToxiCN or MHC test row"):
        counter_speech.main([str(run.root), "--test-from", str(run.root), "--check", str(check)])


def test_violent_rule_compares_the_head_with_violent_derived_from_any_category(tmp_path, capsys):
    import json

    import numpy as np

    from benchmarks import violent_rule
    from cvguard.contracts import MODEL_NAME, RunDir
    from cvguard.io import write_jsonl
    from cvguard.taxonomy import load_taxonomy

    labels = list(load_taxonomy().labels)
    run = RunDir(tmp_path / "run")
    run.split("dev").parent.mkdir(parents=True)
    gold = [1, 1, 0, 0]  # the second is caught only through `insult`, the third is a false flag only through it
    write_jsonl(run.split("dev"), [{"text": f"t{i}", "source": "threads", "subset": "attack" if y else "criticism",
                                    "labels": {"violent": y}} for i, y in enumerate(gold)])
    probs = np.zeros((4, len(labels)), dtype=np.float32)
    probs[0, labels.index("violent")] = 0.9
    probs[1, labels.index("insult")] = probs[2, labels.index("insult")] = 0.9
    run.save_predictions(MODEL_NAME, "dev", probs)
    run.thresholds.write_text(json.dumps({name: 0.5 for name in labels}))
    _, head, derived = violent_rule.flags(run, "dev")
    assert head.tolist() == [True, False, False, False] and derived.tolist() == [True, True, True, False]
    violent_rule.main([str(run.root)])
    out = capsys.readouterr().out
    assert "| threads | 4 | 73.3 · 73.3 | 50.0 · 100.0 | 0.0 · 50.0 |" in out
    assert "| threads criticism | 2 | 0.0 · 50.0 |" in out
