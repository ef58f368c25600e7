"""File helpers. Every writer in cvguard goes through `atomic_write` (or `replace_dir` for a folder), so a
crash or a kill leaves the old file or the new one, never half of one, and a power cut cannot undo a write
that returned: the data are fsynced before the rename and the folder after it.

Files are created with the permissions the umask allows (0644 under the usual 022), not mkstemp's 0600, so
another service account can read an artifact or a report.
"""

import csv
import ctypes
import ctypes.util
import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

_AT_FDCWD, _RENAME_EXCHANGE = -100, 2
try:
    _libc: ctypes.CDLL | None = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
except OSError:  # no C library to call: replace_dir falls back to two renames
    _libc = None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_dir(folder: Path) -> None:
    """Makes a rename inside `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> None:
    """Writes `path` through `write(file)`: a temporary file beside it, fsync, rename, fsync of the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def write_jsonl(path: str | Path, rows) -> None:
    """Line by line: a million rows never become one string."""
    atomic_write(path, lambda f: f.writelines((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8")
                                              for r in rows))


def staging_dir(target: Path) -> Path:
    """An empty folder beside `target` to build its replacement in (same file system, so renames are atomic).
    Its name carries this process's id, so a later `recover_dir` can tell a dead export's leftovers from a
    running one's."""
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-{os.getpid()}-", dir=target.parent))
    os.chmod(folder, 0o777 & ~_umask())
    return folder


def _old(target: Path) -> Path:
    return target.with_name(f".{target.name}.old")


def _exchange(a: Path, b: Path) -> bool:
    """Swaps two paths in one atomic step (Linux renameat2 RENAME_EXCHANGE); False where the kernel, the C
    library or the file system cannot."""
    renameat2 = getattr(_libc, "renameat2", None) if _libc is not None else None
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_dir(target: Path) -> None:
    """Undoes what a crash or a kill inside `replace_dir` can leave: the old folder set aside with no new one
    in place is put back, and staging folders of processes that no longer run are removed."""
    old = _old(target)
    if old.exists() and not target.exists():
        old.rename(target)
        fsync_dir(target.parent)
    shutil.rmtree(old, ignore_errors=True)
    for stale in target.parent.glob(f".{target.name}.staging-*"):
        pid = stale.name.split("staging-", 1)[1].split("-", 1)[0]
        if not (pid.isdigit() and _pid_alive(int(pid))):
            shutil.rmtree(stale, ignore_errors=True)


def replace_dir(staging: Path, target: Path) -> None:
    """Puts the finished folder `staging` in place of `target`, so that at every instant `target` is the old
    folder or the new one. Every file is fsynced first. Where the file system can swap two folders atomically
    it does; elsewhere (and for a first `target`) the old folder is renamed aside, the new one renamed in, and
    a crash between the two is undone by `recover_dir`, which the next writer runs first."""
    for file in staging.rglob("*"):
        if file.is_file():
            with open(file, "rb") as f:
                os.fsync(f.fileno())
    fsync_dir(staging)
    recover_dir(target)
    if target.exists() and _exchange(staging, target):  # `staging` now holds the old folder
        fsync_dir(target.parent)
        shutil.rmtree(staging, ignore_errors=True)
        return
    if target.exists():
        target.rename(_old(target))
    staging.rename(target)
    fsync_dir(target.parent)
    shutil.rmtree(_old(target), ignore_errors=True)


def read_jsonl_lines(path: str | Path) -> list[tuple[int, object]]:
    """(line number in the file, parsed value) per non-blank line; InputError naming the line otherwise."""
    path = Path(path)
    rows = []
    with path.open("rb") as f:
        for line_no, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(path, line_no, f"not valid UTF-8 ({e.reason})") from None
            if line.strip():
                try:
                    rows.append((line_no, json.loads(line)))
                except json.JSONDecodeError as e:
                    raise InputError(path, line_no, f"invalid JSON ({e.msg})") from None
    return rows


def read_jsonl(path: str | Path) -> list:
    return [row for _, row in read_jsonl_lines(path)]


class InputError(ValueError):
    """Malformed input: the message names the file, the line and the problem."""

    def __init__(self, path, line: int | None, problem: str):
        super().__init__(f"{path}" + (f", line {line}" if line is not None else "") + f": {problem}")
        self.path, self.line, self.problem = path, line, problem


def read_csv(path: str | Path, text: str, required: list[str] = ()) -> list[tuple[int, dict]]:
    """(line number in the file, row) pairs of a CSV's text, header first. Strict where the csv module is
    lenient: a row with the wrong number of fields, a quote left open to the end of the file, or a quoted
    field that swallows whole rows (an unbalanced quote: its lines hold as many commas as a row) is an
    InputError naming the line where the row starts, instead of rows silently merged into one text."""
    lines = text.splitlines(keepends=True)
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as e:
        raise InputError(path, 1, f"bad CSV header ({e})") from None
    if header is None:
        raise InputError(path, None, "empty file: no CSV header")
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(path, 1, f"missing column(s) {missing}; found {header}")
    rows, start = [], reader.line_num + 1
    while True:
        try:
            fields = next(reader, None)
        except csv.Error as e:
            raise InputError(path, start, f"{e}: a quote opened on this line is never closed") from None
        if fields is None:
            return rows
        end = reader.line_num
        if fields:  # a blank line parses as []
            if len(fields) != len(header):
                raise InputError(path, start, f"{len(fields)} fields, the header has {len(header)}")
            swallowed = [line for f in fields for line in f.split("\n")[1:] if line.count(",") >= len(header) - 1]
            if end > start and swallowed:
                raise InputError(path, start, f"a quoted field runs over lines {start}-{end} and holds whole rows "
                                              f"(e.g. {swallowed[0][:40]!r}): an unbalanced quote?")
            rows.append((start, dict(zip(header, fields))))
        start = end + 1


def decode_text(path: str | Path, data: bytes) -> str:
    """A whole file's bytes as text (a UTF-8 byte-order mark dropped), or an InputError naming the line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise InputError(path, line, f"not valid UTF-8 ({e.reason})") from None


def decode_lines(path: str | Path, data: bytes) -> list[tuple[int, str | None, str | None]]:
    """(line number, text, problem) per non-blank line; a line that is not UTF-8 gets a problem and no text,
    so one bad line never costs the others."""
    out = []
    for line_no, raw in enumerate(data.split(b"\n"), 1):
        if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark
            raw = raw[3:]
        try:
            line = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError as e:
            out.append((line_no, None, f"not valid UTF-8 at byte {e.start + 1} of the line ({e.reason})"))
            continue
        if line.strip():
            out.append((line_no, line, None))
    return out
