"""`cvguard score`: a backlog of texts (Parquet, JSONL or CSV files, a folder of them, or a glob) scored into a
folder of Parquet files, one output row per input row.

Each input file is read in fragments of `fragment_rows` rows, streamed (pyarrow for Parquet, line by line for
JSONL and CSV), so memory stays flat whatever the input size. Each fragment is scored and written as one
Parquet file, `OUTPUT/<file key>-<fragment>.parquet`, through an atomic rename, and then gets a completion
marker in `OUTPUT/_done/`. A rerun of the same command skips every marked fragment and rewrites the others,
so a killed job resumes with no duplicate and no missing row. `OUTPUT/_job.json` records the settings that
decide the output (artifact, columns, fragment size, ...): a rerun with others is refused, since it would mix
two jobs' rows.

Output columns: the id column, the `keep` columns, `status` (TextStatus: "ok" or why the row was not scored),
`p_<label>` per label (null when not scored), `labels` (the flagged labels, null when not scored) and
`artifact_sha256`, the sha256 of the artifact's manifest (which holds the sha256 of every file it lists, so
it names the whole artifact). A bad row gets its status and the rest of its fragment is scored; a file that
cannot be read is reported by name, the job goes on with the others and fails at the end with the list.

The local engine runs `workers` processes with one onnxruntime session each, by default one per fragment to
score up to one per core, the cores shared out among them; export/score_ray.py runs the same `score_table` in
Ray Data actors.
"""

import csv
import ctypes
import ctypes.util
import fcntl
import glob
import hashlib
import itertools
import json
import os
import re
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cvguard.contracts import MANIFEST_FILE, Manifest
from cvguard.export.options import RuntimeOptions, ScoreOptions, TextStatus, text_problem, usable_cores
from cvguard.io import InputError, atomic_write, sha256_of, write_json

INPUT_SUFFIXES = (".parquet", ".jsonl", ".csv")  # not .json: often one JSON array, which is no JSON Lines
TEXT, READ_STATUS = "__text", "__read_status"  # a fragment's text, and a status its reader already knows
JOB_FILE, DONE_DIR, SUMMARY_FILE = "_job.json", "_done", "_summary.json"  # "_": pyarrow's dataset readers skip them
ENGINES = ("local", "ray")
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class ScoreFailed(RuntimeError):
    """Some input files could not be read; every other file was scored."""


@dataclass
class Summary:
    rows: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    files: int = 0
    fragments_written: int = 0
    fragments_skipped: int = 0  # finished by an earlier run
    failed_files: dict[str, str] = field(default_factory=dict)  # file -> why it could not be read
    workers: int | None = None  # local engine: the layout it chose (worker processes x onnxruntime threads)
    threads: int | None = None


def artifact_sha256(artifact: Path) -> str:
    return sha256_of(Path(artifact) / MANIFEST_FILE)


# --- input -------------------------------------------------------------------------------------------------

def input_files(spec: str | Path) -> dict[Path, str]:
    """The files INPUT names (one file, every input file under a folder, or a glob's matches), sorted, each
    with its output name: its path below INPUT's folder (a glob's folder: the part before the first wildcard),
    made safe, plus a hash of that path, so two `part.parquet` in different folders never share output
    files. The name depends only on where the file sits under INPUT, so a backlog folder that grows keeps
    the names, and the finished fragments, of the files it had."""
    path = Path(spec)
    if path.is_file() and path.suffix not in INPUT_SUFFIXES:
        raise InputError(path, None, f"not a {', '.join(INPUT_SUFFIXES)} file")
    if path.is_file():
        root, candidates = path.parent, [path]
    elif path.is_dir():
        root, candidates = path, list(path.rglob("*"))
    else:
        fixed = list(itertools.takewhile(lambda part: not re.search(r"[*?[]", part), path.parts))
        root, candidates = Path(*fixed) if fixed else Path("."), [Path(p) for p in glob.glob(str(spec), recursive=True)]
    files = sorted(p for p in candidates if p.is_file() and p.suffix in INPUT_SUFFIXES and not p.name.startswith("."))
    if not files:
        raise InputError(spec, None, f"no {', '.join(INPUT_SUFFIXES)} files here")
    keys = {}
    for f in files:
        relative = f.resolve().relative_to(root.resolve()).as_posix()
        keys[f] = f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', relative)}-{hashlib.sha1(relative.encode()).hexdigest()[:8]}"
    return keys


def read_fragments(path: Path, options: ScoreOptions) -> Iterator[pa.Table]:
    """The file as tables of `fragment_rows` rows (the last one shorter), each with the id and keep columns,
    TEXT and READ_STATUS. The same file always gives the same fragments: that is what makes resume exact."""
    reader = {".parquet": _parquet_batches, ".csv": _csv_batches, ".jsonl": _jsonl_batches}[path.suffix]
    pending: list[pa.Table] = []
    held = 0
    for table in reader(path, options):
        pending.append(table)
        held += table.num_rows
        while held >= options.fragment_rows:
            whole = pa.concat_tables(pending)
            yield whole.slice(0, options.fragment_rows)
            rest = whole.slice(options.fragment_rows)
            pending, held = [rest], rest.num_rows
    if held:
        yield pa.concat_tables(pending)


def _columns(options: ScoreOptions) -> list[str]:
    return list(dict.fromkeys([options.id_column, options.text_column, *options.keep]))


def _parquet_batches(path: Path, options: ScoreOptions) -> Iterator[pa.Table]:
    file = pq.ParquetFile(path)
    names = file.schema_arrow.names
    missing = [c for c in _columns(options) if c not in names]
    if missing:
        raise InputError(path, None, f"missing column(s) {missing}; found {names}")
    for batch in file.iter_batches(batch_size=min(options.fragment_rows, 65_536), columns=_columns(options)):
        yield as_fragment(pa.Table.from_batches([batch]), options)


def as_fragment(table: pa.Table, options: ScoreOptions) -> pa.Table:
    """Input columns as they were read -> the id and keep columns, TEXT and READ_STATUS (no status known)."""
    missing = [c for c in _columns(options) if c not in table.column_names]
    if missing:
        raise KeyError(f"missing column(s) {missing}; found {table.column_names}")
    return (table.select(_kept(options)).append_column(TEXT, table.column(options.text_column))
            .append_column(READ_STATUS, pa.nulls(len(table), pa.string())))


def _kept(options: ScoreOptions) -> list[str]:
    """The input columns copied to the output: the id, then `keep`."""
    return list(dict.fromkeys([options.id_column, *options.keep]))


def _table(rows: list[tuple[dict, object, str | None]], options: ScoreOptions) -> pa.Table:
    """Rows read from text files: (kept values, the text value, reader status)."""
    columns = {name: _array([values.get(name) for values, _, _ in rows]) for name in _kept(options)}
    texts, statuses = [], []
    for _, text, status in rows:
        # A text Arrow cannot hold (not a string; a lone surrogate, valid in JSON, is not UTF-8) is decided here.
        problem = text_problem(text) if text is not None and status is None else None
        unfit = problem is not None and problem[0] in (TextStatus.NOT_STRING, TextStatus.INVALID_UNICODE)
        texts.append(None if unfit else text)
        statuses.append(problem[0].value if unfit else status)
    columns[TEXT] = pa.array(texts, pa.string())
    columns[READ_STATUS] = pa.array(statuses, pa.string())
    return pa.table(columns)


def _array(values: list) -> pa.Array:
    """A JSON column as Arrow infers it; one with mixed types (ids that are numbers on some lines, strings on
    others) as strings, rather than losing the fragment."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
        return pa.array([None if v is None else _printable(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
                         for v in values], pa.string())


def _printable(value: str) -> str:
    return value.encode("utf-8", "replace").decode("utf-8")


def _jsonl_batches(path: Path, options: ScoreOptions) -> Iterator[pa.Table]:
    rows: list[tuple[dict, object, str | None]] = []
    with path.open("rb") as f:
        for raw in f:
            if not raw.strip():
                continue
            try:  # -sig: a byte-order mark opening the file is not part of the first row
                obj = json.loads(raw.decode("utf-8-sig"))
            except UnicodeDecodeError:
                rows.append(({}, None, TextStatus.INVALID_UTF8.value))
            except json.JSONDecodeError:
                rows.append(({}, None, TextStatus.INVALID_JSON.value))
            else:
                if isinstance(obj, dict):
                    rows.append((obj, obj.get(options.text_column), None))
                else:
                    rows.append(({}, None, TextStatus.INVALID_JSON.value))
            if len(rows) == options.fragment_rows:
                yield _table(rows, options)
                rows = []
    if rows:
        yield _table(rows, options)


def _has_bad_bytes(value: str) -> bool:
    # Read with errors="surrogateescape", bytes that are not UTF-8 become lone surrogates U+DC80..U+DCFF.
    return any("\udc80" <= c <= "\udcff" for c in value)


def _clean(value: str) -> str:
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if _has_bad_bytes(value) else value


def _csv_batches(path: Path, options: ScoreOptions) -> Iterator[pa.Table]:
    rows: list[tuple[dict, object, str | None]] = []
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        reader = csv.reader(f, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                raise InputError(path, None, "empty file: no CSV header")
            missing = [c for c in _columns(options) if c not in header]
            if missing:
                raise InputError(path, 1, f"missing column(s) {missing}; found {header}")
            for fields in reader:
                if not fields:
                    continue
                if len(fields) != len(header):
                    values = dict(zip(header, map(_clean, fields)))
                    rows.append((values, None, TextStatus.BAD_CSV_ROW.value))
                else:
                    values = dict(zip(header, fields))
                    text = values[options.text_column]
                    bad = _has_bad_bytes(text)
                    rows.append(({k: _clean(v) for k, v in values.items()}, None if bad else text,
                                 TextStatus.INVALID_UTF8.value if bad else None))
                if len(rows) == options.fragment_rows:
                    yield _table(rows, options)
                    rows = []
        except csv.Error as e:
            # an unclosed quote, or a field over csv.field_size_limit() (one that swallowed the rest of the file)
            raise InputError(path, reader.line_num, f"bad CSV ({e})") from None
    if rows:
        yield _table(rows, options)


# --- scoring -----------------------------------------------------------------------------------------------

def row_statuses(table: pa.Table, max_chars: int) -> list[str]:
    """Each row's status: the reader's, else the runtime's per-text check (text_problem)."""
    statuses = []
    for text, known in zip(table.column(TEXT).to_pylist(), table.column(READ_STATUS).to_pylist()):
        if known is None and isinstance(text, bytes):  # a binary Parquet column
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                known = TextStatus.INVALID_UTF8.value
        problem = None if known else text_problem(text, max_chars)
        statuses.append(known or (problem[0].value if problem else TextStatus.OK.value))
    return statuses


def score_table(classifier, table: pa.Table, options: ScoreOptions, sha256: str, batch_size: int) -> pa.Table:
    """A fragment as read (id and keep columns, TEXT, READ_STATUS) -> its output rows, in the same order."""
    statuses = row_statuses(table, options.max_chars)
    good = np.array([s == TextStatus.OK.value for s in statuses], dtype=bool)
    raw = table.column(TEXT).to_pylist()
    texts = [t.decode("utf-8") if isinstance(t, bytes) else t for t, ok in zip(raw, good) if ok]
    probs = np.zeros((len(table), len(classifier.labels)), dtype=np.float32)
    if texts:
        probs[good] = classifier.predict_proba(texts, batch_size)
    flags = probs >= classifier.thresholds
    out = table.select(_kept(options)).append_column("status", pa.array(statuses, pa.string()))
    for j, label in enumerate(classifier.labels):
        out = out.append_column(f"p_{label}", pa.array(probs[:, j], pa.float32(), mask=~good))
    labels = [[name for name, on in zip(classifier.labels, row) if on] if ok else None for row, ok in zip(flags, good)]
    out = out.append_column("labels", pa.array(labels, pa.list_(pa.string())))
    return out.append_column("artifact_sha256", pa.array([sha256] * len(table), pa.string()))


# --- output folder -----------------------------------------------------------------------------------------

def fragment_path(output: Path, key: str, index: int) -> Path:
    return output / f"{key}-{index:05d}.parquet"


def marker_path(output: Path, name: str) -> Path:
    return output / DONE_DIR / f"{name}.json"


def status_counts(table: pa.Table) -> dict[str, int]:
    return dict(Counter(table.column("status").to_pylist()))


def write_fragment(path: Path, table: pa.Table) -> dict:
    """Writes one output file, then its marker; returns the marker's counts. A kill between the two leaves
    the file unmarked, and the next run rewrites it with the same rows."""
    atomic_write(path, lambda f: pq.write_table(table, f))
    counts = status_counts(table)
    write_json(marker_path(path.parent, path.stem), {"rows": table.num_rows, "by_status": counts})
    return counts


def job_settings(options: ScoreOptions, runtime: RuntimeOptions, sha256: str) -> dict:
    """What decides the output rows: a rerun must match it, or its rows would not be the same job's. The
    artifact counts by its sha256, not its path: a copy elsewhere scores the same."""
    decides = ("text_column", "id_column", "keep", "engine", "fragment_rows", "max_chars")
    return {"artifact_sha256": sha256,
            **{k: v for k, v in asdict(options).items() if k in decides},
            "keep": list(options.keep), "variant": runtime.variant, "long_texts": runtime.long_texts}


def open_output(output: Path, settings: dict):
    """Creates or reopens OUTPUT for this job: takes its lock (one job per folder), refuses a folder another
    job wrote, and removes what a killed run left half-written. Returns the lock's file, held until closed."""
    output.mkdir(parents=True, exist_ok=True)
    lock = open(output / ".lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise RuntimeError(f"{output}: another cvguard score job is writing here") from None
    job = output / JOB_FILE
    if job.exists():
        before = json.loads(job.read_text(encoding="utf-8"))
        differ = sorted(k for k in settings.keys() | before.keys() if settings.get(k) != before.get(k))
        if differ:
            lock.close()
            raise InputError(job, None, f"{output} holds a job with other settings ({', '.join(differ)}); "
                                        "score into a new folder, or delete this one")
    else:
        write_json(job, settings)
    for stale in [*output.glob(".*.tmp"), *(output / DONE_DIR).glob(".*.tmp")]:  # a killed run's atomic_write
        stale.unlink()
    return lock


def summarise(output: Path, summary: Summary) -> Summary:
    """Counts by status over every marker, so a resumed job reports what an uninterrupted one would."""
    by_status: Counter = Counter()
    for marker in (output / DONE_DIR).glob("*.json"):
        done = json.loads(marker.read_text(encoding="utf-8"))
        by_status.update(done["by_status"])
    summary.by_status = dict(sorted(by_status.items()))
    summary.rows = sum(by_status.values())
    write_json(output / SUMMARY_FILE, asdict(summary))
    return summary


def failure(output: Path, summary: Summary) -> ScoreFailed:
    listing = "; ".join(f"{name} ({why})" for name, why in summary.failed_files.items())
    return ScoreFailed(f"{len(summary.failed_files)} of {summary.files} input files could not be read (any "
                       f"others were scored into {output}): {listing}")


# Errors that mean "this file cannot be read". An error while scoring or writing (a full disk, a broken
# worker) is not one of them: it stops the job, and a rerun resumes.
UNREADABLE = (OSError, InputError, pa.ArrowException, UnicodeDecodeError)


def readable_fragments(path: Path, options: ScoreOptions, summary: Summary) -> Iterator[tuple[int, pa.Table]]:
    """(index, fragment) of one file; a file that stops being readable is reported and ends early. Only the
    reading is guarded: an error in the caller's loop body is not thrown into this generator."""
    try:
        yield from enumerate(read_fragments(path, options))
    except UNREADABLE as e:
        unreadable(summary, path, e)


def unreadable(summary: Summary, path: Path, error: BaseException) -> None:
    """Records and reports a file that could not be read; the job goes on with the others."""
    from cvguard.cli import one_line

    why = one_line(error).removeprefix(str(path)).lstrip(":, ")  # InputError's message starts with the path
    summary.failed_files[str(path)] = why
    print(f"cvguard score: cannot read {path}: {why}; going on with the other files", file=sys.stderr)


# --- the local engine --------------------------------------------------------------------------------------

_worker: dict = {}  # a worker process's classifier and settings, loaded once by _start_worker


def _die_with(parent: int) -> None:
    """Makes the kernel kill this worker when the job's process dies (Linux), so a job killed with SIGKILL
    leaves no worker behind, still writing into OUTPUT while the rerun does."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if getattr(libc, "prctl", None) is not None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)


def _start_worker(artifact: Path, options: ScoreOptions, runtime: RuntimeOptions, sha256: str,
                  parent: int | None = None) -> None:
    from cvguard.export.runtime import Classifier

    if parent is not None:
        _die_with(parent)

    _worker.update(classifier=Classifier.from_options(artifact, runtime), options=options, sha256=sha256,
                   batch_size=runtime.batch_size)


def _score_fragment(table: pa.Table, path: Path) -> dict:
    scored = score_table(_worker["classifier"], table, _worker["options"], _worker["sha256"], _worker["batch_size"])
    return write_fragment(path, scored)


def most_workers(options: ScoreOptions, runtime: RuntimeOptions) -> int:
    """The given workers; else one per core (per `threads` cores when that is given). On CUDA one by default:
    one session keeps the GPU busy, more would hold copies of the model on it."""
    if options.workers or runtime.device == "cuda":
        return options.workers or 1
    return max(1, usable_cores() // (runtime.threads or 1))


def local_plan(options: ScoreOptions, runtime: RuntimeOptions, fragments: int) -> tuple[int, RuntimeOptions]:
    """Workers and the onnxruntime threads each gets, sized to the work: one worker per fragment to score, up
    to `most_workers`, and the cores shared out among them, so an input of one fragment gets one worker with
    every core's threads. Given workers and threads are taken as they are."""
    workers = most_workers(options, runtime)
    if not options.workers:
        workers = max(1, min(fragments, workers))
    return workers, replace(runtime, threads=runtime.threads or max(1, usable_cores() // workers))


def score(artifact: str | Path, input_spec: str | Path, output: str | Path, options: ScoreOptions = ScoreOptions(),
          runtime: RuntimeOptions = RuntimeOptions()) -> Summary:
    """Scores every input file into OUTPUT with the chosen engine; see the module docstring. Files that could
    not be read are in the summary's failed_files; every other file was scored."""
    if options.engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {options.engine!r}")
    if options.fragment_rows < 1:
        raise ValueError(f"fragment_rows must be >= 1, got {options.fragment_rows}")
    artifact, output = Path(artifact), Path(output)
    Manifest.read(artifact)  # a wrong folder fails here, before any worker starts
    sha256 = artifact_sha256(artifact)
    files = input_files(input_spec)  # file -> its output name
    lock = open_output(output, job_settings(options, runtime, sha256))
    try:
        if options.engine == "ray":
            try:
                from cvguard.export.score_ray import score_with_ray
            except ImportError as e:
                raise ImportError(f"--engine ray needs the ray extra: pip install 'cvguard[ray]' ({e})") from None

            return summarise(output, score_with_ray(artifact, files, output, options, runtime, sha256))
        return summarise(output, _score_local(artifact, files, output, options, runtime, sha256))
    finally:
        lock.close()


def _score_local(artifact: Path, files: dict[Path, str], output: Path, options: ScoreOptions, runtime: RuntimeOptions,
                 sha256: str) -> Summary:
    summary = Summary(files=len(files))

    def work() -> Iterator[tuple[pa.Table, Path]]:  # the fragments an earlier run did not finish
        for path, key in files.items():
            for index, table in readable_fragments(path, options, summary):
                target = fragment_path(output, key, index)
                if marker_path(output, target.stem).exists() and target.exists():
                    summary.fragments_skipped += 1
                else:
                    yield table, target

    # Read as many fragments as there could be workers, to tell whether each would get one.
    todo = work()
    ahead = list(itertools.islice(todo, most_workers(options, runtime)))
    if not ahead:
        return summary
    workers, runtime = local_plan(options, runtime, len(ahead))
    summary.workers, summary.threads = workers, runtime.threads
    todo = itertools.chain(ahead, todo)
    del ahead  # the chain alone holds them now, and lets go once it has handed them out
    pool = None
    if workers > 1:
        # spawn: a fresh interpreter per worker, so no onnxruntime thread pool is forked mid-use
        pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_start_worker,
                                   initargs=(artifact, options, runtime, sha256, os.getpid()))
    else:
        _start_worker(artifact, options, runtime, sha256)
    pending: set[Future] = set()  # bounded, so reading never runs far ahead of scoring

    def settle(at_most: int) -> None:
        nonlocal pending
        while len(pending) > at_most:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                future.result()
                summary.fragments_written += 1

    try:
        for table, target in todo:
            if pool is None:
                _score_fragment(table, target)
                summary.fragments_written += 1
            else:
                pending.add(pool.submit(_score_fragment, table, target))
                settle(2 * workers)
        settle(0)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return summary
