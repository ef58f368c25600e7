"""The fault suite: each input or state that once ended in a raw traceback or a silent wrong answer, replayed.

CLI errors are one line that names the file and what to run first; the traceback comes only with --debug.
"""

import json
import subprocess
import sys

import pytest


def cvguard(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cvguard.cli", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("command, expected", [
    (["train", "run_dir={run}"], "data/train.jsonl not found; run `cvguard data CONFIG` first"),
    (["evaluate", "run_dir={run}", "--skip-predict"], "data/dev.jsonl not found; run `cvguard data CONFIG` first"),
    (["export", "run_dir={run}"], "model not found; run `cvguard train CONFIG` first"),
    (["predict", "{run}"], "manifest.json not found: is"),
    (["predict", "{run}", "-i", "{run}/missing.jsonl"], "missing.jsonl: No such file or directory"),
], ids=["train-before-data", "evaluate-before-data", "export-before-train", "predict-no-artifact",
        "predict-missing-input"])
def test_a_stage_run_too_early_says_so_in_one_line(tmp_path, command, expected):
    run = tmp_path / "run"
    result = cvguard(*[part.format(run=run) for part in command])
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "--debug" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(tmp_path):
    result = cvguard("--debug", "train", f"run_dir={tmp_path / 'run'}")
    assert result.returncode == 1 and "Traceback (most recent call last)" in result.stderr
    assert "MissingStageOutput" in result.stderr


@pytest.fixture(scope="module")
def artifact(tmp_path_factory, tiny_model_dir):
    from conftest import make_run

    from cvguard.contracts import RunDir
    from cvguard.export.onnx_export import export

    config = make_run(tmp_path_factory.mktemp("run"), tiny_model_dir,
                      overrides=["export.quantize=false", "export.fp16=false"])
    export(config)
    return RunDir(config.run_path).artifact


def predict_lines(artifact, *args, stdin: bytes = b""):
    result = subprocess.run([sys.executable, "-m", "cvguard.cli", "predict", str(artifact), *args], input=stdin,
                            capture_output=True)
    return result, [json.loads(line) for line in result.stdout.decode().splitlines()]


def test_invalid_utf8_on_stdin_names_its_line_and_the_other_rows_keep_their_scores(artifact):
    from cvguard.export.runtime import Classifier

    result, rows = predict_lines(artifact, stdin="你这个废物\n".encode() + b"\xff\xfe bad\n" + "今天天气很好\n".encode())
    assert result.returncode == 0, result.stderr
    assert [r["line"] for r in rows] == [1, 2, 3]
    assert rows[1]["error"].startswith("not valid UTF-8") and "probs" not in rows[1]
    alone = Classifier.load(artifact).predict(["你这个废物", "今天天气很好"])
    assert [rows[0]["probs"], rows[2]["probs"]] == [alone[0]["probs"], alone[1]["probs"]]
    assert b"1 of 3 rows not scored" in result.stderr


def test_jsonl_errors_use_the_files_real_line_numbers(artifact, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "好"}\n\n\n{"text": 3}\n{"txt": "x"}\n[1, 2]\n', encoding="utf-8")
    _, rows = predict_lines(artifact, "-i", str(path))
    assert [(r["line"], "error" in r) for r in rows] == [(1, False), (4, True), (5, True), (6, True)]


def test_an_unbalanced_csv_quote_fails_with_file_and_line_instead_of_merging_rows(artifact, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text('id,text\n1,好的\n2,"他说,你好\n3,第三行,x\n4,第四行\n', encoding="utf-8")
    result, rows = predict_lines(artifact, "-i", str(path))
    assert result.returncode == 1 and not rows
    message = result.stderr.decode().strip()
    assert f"{path}, line 3:" in message and len(message.splitlines()) == 1


def test_csv_rows_carry_their_file_line_numbers(tmp_path):
    from cvguard.io import read_csv

    text = 'id,text\n1,好的\n\n2,"两行\n的文本"\n3,再见\n'
    assert [(line, row["id"]) for line, row in read_csv("x.csv", text, ["text"])] == [(2, "1"), (4, "2"), (6, "3")]
    with pytest.raises(ValueError, match=r"x\.csv, line 2: 3 fields, the header has 2"):
        read_csv("x.csv", "id,text\n1,a,b\n")
    with pytest.raises(ValueError, match=r"x\.csv, line 2: .*never closed"):
        read_csv("x.csv", 'id,text\n1,"open\n')


def write_seed(folder, lines: list[str]):
    folder.mkdir(exist_ok=True)
    (folder / "train.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    (folder / "test.jsonl").write_text("", encoding="utf-8")
    return folder


def seed_line(**changes) -> str:
    from cvguard.taxonomy import load_taxonomy

    row = {"text": "你这个废物", "labels": {name: 0 for name in load_taxonomy().labels}, "groups": []}
    row["labels"].update(changes.pop("labels", {}))
    row.update(changes)
    return json.dumps(row, ensure_ascii=False)


@pytest.mark.parametrize("bad_line, expected", [
    ('["a", "list"]', "line 3: expected a JSON object, got list"),
    (seed_line(labels={"violent": True}), r"line 3: bad label value\(s\) \{'violent': True\}"),
    (seed_line(labels={"violent": 1.0, "insult": 1}), r"line 3: bad label value\(s\) \{'violent': 1.0\}"),
    (seed_line(labels={"violent": 0, "insult": 1}), "line 3: violent=0 contradicts insult=1"),
    (seed_line(labels={"violent": None, "threat": 1}), "line 3: threat=1 needs violent=1"),
    (seed_line(groups="minors"), "line 3: groups must be a list"),
], ids=["list-row", "true", "float", "violent-0-with-a-category", "category-without-violent", "groups-not-list"])
def test_seed_rows_are_validated_strictly_with_the_files_line_number(tmp_path, bad_line, expected):
    from cvguard.data.sources import DataError, read_seed

    folder = write_seed(tmp_path / "seed", [seed_line(), "", bad_line])  # a blank line 2: line numbers are real
    with pytest.raises(DataError, match=rf"train\.jsonl, {expected}"):
        read_seed(folder)


@pytest.mark.parametrize("closed_later", [True, False], ids=["closed-40-lines-later", "never-closed"])
def test_an_unbalanced_quote_in_cold_fails_with_file_and_line_instead_of_swallowing_rows(tmp_path, closed_later):
    """Before: the open quote merged the rest of the file into one text and `cvguard data` went on (141 of
    150 rows read, rc 0)."""
    from cvguard.data.sources import read_cold
    from cvguard.io import InputError

    folder = tmp_path / "COLD"
    folder.mkdir()
    header = ",split,topic,label,TEXT\n"
    rows = [f'{i},train,race,0,正常的第{i}句话\n' for i in range(150)]
    rows[10] = '10,train,race,0,"引号没有关上的一句\n'
    if closed_later:
        rows[50] = '50,train,race,0,他说"好的\n'
    (folder / "train.csv").write_text(header + "".join(rows), encoding="utf-8")
    (folder / "dev.csv").write_text(header, encoding="utf-8")
    (folder / "test.csv").write_text(",split,topic,label,fine-grained-label,TEXT\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"train\.csv, line 12: .*(unbalanced quote|never closed)"):
        read_cold(folder)
