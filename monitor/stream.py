"""`cvguard monitor`: JSONL events from stdin (until EOF) or a followed file, alerts as JSONL on stdout, and the
webhook. A followed file's byte offset is committed with each batch, so a restart reads on from there."""

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from cvguard.monitor.config import Webhook
from cvguard.monitor.engine import Monitor

POLL_SECONDS = 0.2  # how often a followed file is checked for new lines


def post_webhook(alert: dict, hook: Webhook) -> bool:
    """POSTs one alert as JSON; retried with doubling back-off. False (and a line on stderr) when every try fails."""
    body = json.dumps(alert, ensure_ascii=False).encode("utf-8")
    delay = hook.backoff_seconds
    for attempt in range(1, hook.retries + 2):
        request = urllib.request.Request(hook.url, body, {"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=hook.timeout_seconds) as response:
                if 200 <= response.status < 300:
                    return True
        except (urllib.error.URLError, OSError) as e:
            problem = str(e)
        else:
            problem = f"HTTP {response.status}"
        if attempt <= hook.retries:
            time.sleep(delay)
            delay *= 2
    print(f"cvguard monitor: webhook {hook.url} failed for alert {alert['id']} after {hook.retries + 1} tries "
          f"({problem}); the alert is in the database", file=sys.stderr)
    return False


def announcer(hook: Webhook, out=None):
    out = out or sys.stdout

    def announce(alert: dict) -> None:
        out.write(json.dumps(alert, ensure_ascii=False) + "\n")
        out.flush()
        if hook.url:
            post_webhook(alert, hook)

    return announce


def parse_lines(chunk: bytes, first_line: int) -> tuple[list, list[int], list[str]]:
    """Values (or the ValueError saying why a line is not an event), line numbers and raw text of a chunk's
    non-blank lines."""
    objs, lines, raws = [], [], []
    for i, raw in enumerate(chunk.split(b"\n")):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            objs.append(ValueError(f"not valid UTF-8 ({e.reason})"))
            text = raw.decode("utf-8", "replace")
        else:
            if not text.strip():
                continue
            try:
                objs.append(json.loads(text))
            except json.JSONDecodeError as e:
                objs.append(ValueError(f"invalid JSON ({e.msg})"))
        lines.append(first_line + i)
        raws.append(text)
    return objs, lines, raws


def consume(monitor: Monitor, fd: int, source: str, follow: bool = False, offset: int = 0, line: int = 0) -> None:
    """Reads complete lines from `fd` as they come; each os.read's worth (at most batch_size events) is one
    batch, so a live stream is scored as it arrives and a file is scored in full batches."""
    pending = b""
    batch = monitor.config.batch_size
    while True:
        data = os.read(fd, 1 << 16)
        if not data:
            if not follow:
                break
            time.sleep(POLL_SECONDS)
            continue
        pending += data
        complete, newline, pending = pending.rpartition(b"\n")
        if not newline:
            continue
        rows = complete.split(b"\n")
        for start in range(0, len(rows), batch):
            part = b"\n".join(rows[start:start + batch])
            objs, lines, raws = parse_lines(part, line + 1)
            line += len(rows[start:start + batch])
            offset += len(part) + 1
            monitor.process(objs, lines, source, raws, cursor=(source, offset, line) if follow else None)
    if pending.strip():  # a last line without a newline at EOF
        objs, lines, raws = parse_lines(pending, line + 1)
        monitor.process(objs, lines, source, raws)


def run(monitor: Monitor, follow: Path | None) -> None:
    monitor.announce_pending()
    if follow is None:
        consume(monitor, sys.stdin.fileno(), "stdin")
        return
    source = str(follow.resolve())
    cursor = monitor.store.query("SELECT byte_offset, line FROM cursors WHERE source = ?", (source,))
    monitor.store.commit()
    offset, line = (int(cursor[0][0]), int(cursor[0][1])) if cursor else (0, 0)
    fd = os.open(follow, os.O_RDONLY)
    try:
        os.lseek(fd, offset, os.SEEK_SET)
        consume(monitor, fd, source, follow=True, offset=offset, line=line)
    finally:
        os.close(fd)
