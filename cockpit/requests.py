"""Work handed to the writer by processes that may not write (web, CLI while the scheduler runs).

A request is a JSON file in var/requests/; the writer answers with NAME.done.json. Files, not a
socket, so requests survive a writer restart and need no open port.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

ACTIONS = ("load", "compute", "baseline", "targets", "quarantine_export")


def submit(requests_dir: Path, action: str, **args) -> str:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action}")
    requests_dir.mkdir(parents=True, exist_ok=True)
    rid = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
    tmp = requests_dir / f".{rid}.tmp"
    tmp.write_text(json.dumps({"id": rid, "action": action, "args": args}))
    os.replace(tmp, requests_dir / f"{rid}.json")  # a reader never sees half a request
    return rid


def pending(requests_dir: Path) -> list[Path]:
    if not requests_dir.exists():
        return []
    return sorted(p for p in requests_dir.glob("*.json") if not p.name.endswith(".done.json"))


def answer(path: Path, result: dict) -> None:
    done = path.with_name(path.name.replace(".json", ".done.json"))
    tmp = done.with_name("." + done.name + ".tmp")
    tmp.write_text(json.dumps(result, default=str))
    os.replace(tmp, done)
    path.unlink(missing_ok=True)


def wait(requests_dir: Path, rid: str, timeout_s: float) -> dict | None:
    done = requests_dir / f"{rid}.done.json"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if done.exists():
            result = json.loads(done.read_text())
            done.unlink(missing_ok=True)
            return result
        time.sleep(0.2)
    return None
