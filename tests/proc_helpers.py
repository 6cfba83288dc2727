"""Helpers for tests that run real processes: a scratch plant, bounded polls, process groups, HTTP.

Used by tests/test_processes.py. Everything here is bounded in time and cleans up after itself:
processes start in their own session (process group) and are stopped with SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "fixtures" / "golden"


# --- the scratch plant ---------------------------------------------------------------------------


@dataclass
class Plant:
    dir: Path
    config: Path
    var: Path
    connectors: list[str]
    timezone: str = "Asia/Shanghai"

    @property
    def serving(self) -> Path:
        return self.var / "serving.duckdb"

    @property
    def holder_file(self) -> Path:
        return self.var / "writer.holder.json"

    @property
    def requests_dir(self) -> Path:
        return self.var / "requests"

    def now(self) -> datetime:
        """Naive plant-local wall time, the clock the writer stamps load_run with (cockpit.config.plant_now)."""
        return datetime.now(ZoneInfo(self.timezone)).replace(tzinfo=None)

    def holder(self) -> dict | None:
        try:
            return json.loads(self.holder_file.read_text())
        except (FileNotFoundError, ValueError):
            return None


def make_plant(dest: Path, schedule: str = "2s", refresh_s: int = 2) -> Plant:
    """Copy the golden CSVs into dest and write a config whose connectors all run on `schedule`,
    with the store in dest/var (absolute path, so no process depends on its working directory)."""
    dest.mkdir(parents=True, exist_ok=True)
    for csv in GOLDEN.glob("*.csv"):
        shutil.copy2(csv, dest / csv.name)
    text = (GOLDEN / "cockpit.toml").read_text(encoding="utf-8")
    var = dest / "var"
    text, n_store = re.subn(r'(?m)^path = "var"$', f"path = {json.dumps(str(var))}", text)
    text, n_sched = re.subn(r'(?m)^schedule = ".*"$', f"schedule = {json.dumps(schedule)}", text)
    assert n_store == 1, "golden cockpit.toml changed: no [store] path = \"var\" line to rewrite"
    text += f"\n[web]\nrefresh_s = {refresh_s}\n"
    config = dest / "cockpit.toml"
    config.write_text(text, encoding="utf-8")
    raw = tomllib.loads(text)
    connectors = sorted(raw.get("connectors", {}))
    assert connectors, "golden cockpit.toml has no connectors"
    assert n_sched == len(connectors), "not every golden connector has a schedule line to rewrite"
    assert all(c.get("schedule") == schedule for c in raw["connectors"].values())
    assert raw["store"]["path"] == str(var)
    return Plant(dir=dest, config=config, var=var, connectors=connectors,
                 timezone=raw.get("plant", {}).get("timezone", "Asia/Shanghai"))


def rewrite_atomically(path: Path, text: str) -> None:
    """Replace a plant export the way a well-behaved exporter would: the connector never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --- processes -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cockpit_argv() -> list[str]:
    """The installed `cockpit` console script of this interpreter (so the pid we see is the writer's)."""
    script = Path(sys.executable).parent / "cockpit"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cockpit.cli"]


def gunicorn_has_control_socket_option() -> bool:
    """gunicorn >= 24 opens a control socket in ~/.gunicorn by default; parallel test runs would share it."""
    try:
        from gunicorn.config import KNOWN_SETTINGS
    except ImportError:  # pragma: no cover - gunicorn missing: the test fails later with a clear message
        return False
    return any("--no-control-socket" in (getattr(s, "cli", None) or []) for s in KNOWN_SETTINGS)


def base_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("COCKPIT_CONFIG", None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@dataclass
class Proc:
    """A process in its own session with stdout/stderr in files (no pipe can fill up and block it)."""

    name: str
    popen: subprocess.Popen
    out: Path
    err: Path
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def start(cls, name: str, argv: list[str], logdir: Path, cwd: Path | None = None,
              env: dict[str, str] | None = None) -> Proc:
        logdir.mkdir(parents=True, exist_ok=True)
        stamp = time.time_ns()
        out, err = logdir / f"{name}.{stamp}.out", logdir / f"{name}.{stamp}.err"
        with open(out, "wb") as fo, open(err, "wb") as fe:
            popen = subprocess.Popen(argv, cwd=str(cwd or ROOT), env=env or base_env(), stdout=fo, stderr=fe,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        return cls(name, popen, out, err)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stdout(self) -> str:
        return self.out.read_text(errors="replace") if self.out.exists() else ""

    def stderr(self) -> str:
        return self.err.read_text(errors="replace") if self.err.exists() else ""

    def describe(self, tail: int = 4000) -> str:
        rc = self.popen.poll()
        return (f"--- {self.name} (pid {self.pid}, {'running' if rc is None else f'exit {rc}'}, "
                f"argv {' '.join(map(str, self.popen.args))})\n"
                f"[stdout]\n{self.stdout()[-tail:]}\n[stderr]\n{self.stderr()[-tail:]}")

    def tail(self, n: int = 2500) -> str:
        """The last `n` characters of each output, without the scheduler's line per 1 s job run."""
        rc = self.popen.poll()
        parts = [f"--- {self.name} (pid {self.pid}, {'running' if rc is None else f'exit {rc}'})"]
        for label, text in (("stdout", self.stdout()), ("stderr", self.stderr())):
            text = "".join(line for line in text.splitlines(keepends=True) if "apscheduler.executors" not in line)
            if text.strip():
                parts.append(f"[{label} tail]\n{text[-n:]}")
        return "\n".join(parts)

    def wait(self, timeout: float) -> int | None:
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace: float = 10.0) -> int | None:
        """SIGTERM the whole process group, SIGKILL it after `grace` seconds; never raises."""
        if self.popen.poll() is None:
            _killpg(self.pid, signal.SIGTERM)
            if self.wait(grace) is None:
                _killpg(self.pid, signal.SIGKILL)
                self.wait(5)
        return self.popen.poll()


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def describe_all(procs) -> str:
    return "\n".join(p.describe() for p in procs if p is not None)


def wait_until(predicate: Callable[[], object], timeout: float, what: str, procs=(), interval: float = 0.2):
    """Poll until predicate() is truthy; fail with `what` and the processes' output after `timeout` s.
    A process in `procs` that exits early fails the wait at once."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - remembered for the failure message
            last_exc = exc
        for p in procs:
            if p is not None and not p.alive():
                raise AssertionError(f"{what}: {p.name} exited early\n{describe_all(procs)}")
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s"
                                 + (f" (last error: {last_exc!r})" if last_exc else "") + f"\n{describe_all(procs)}")
        time.sleep(interval)


def run_cli(plant: Plant, *args: str, timeout: float = 30.0) -> tuple[subprocess.CompletedProcess, float]:
    """Run one `cockpit` command to completion (bounded); returns the result and its duration."""
    t = time.monotonic()
    proc = subprocess.Popen([*cockpit_argv(), "--config", str(plant.config), *args], cwd=str(plant.dir),
                            env=base_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=5)
        raise AssertionError(f"`cockpit {' '.join(args)}` did not finish within {timeout:.0f} s\n"
                             f"[stdout]\n{out[-3000:]}\n[stderr]\n{err[-3000:]}") from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), time.monotonic() - t


def children_of(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may hold spaces or parentheses
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == pid:
            kids.append(int(entry.name))
    return kids


def open_files(pid: int) -> list[str]:
    fd_dir = Path(f"/proc/{pid}/fd")
    targets = []
    try:
        fds = list(fd_dir.iterdir())
    except OSError:
        return targets
    for fd in fds:
        try:
            targets.append(os.readlink(fd))
        except OSError:
            pass
    return targets


# --- the serving file, read the way the web reads it -------------------------------------------


def read_serving(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Open the published serving file read-only, run one query, close it again."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def serving_meta(path: Path) -> dict[str, str | None]:
    return dict(read_serving(path, "SELECT key, value FROM meta"))


def load_runs(path: Path) -> list[dict]:
    rows = read_serving(path, "SELECT run_id, connector, started_at, finished_at, status, rows_loaded "
                              "FROM load_run ORDER BY run_id")
    return [dict(zip(("run_id", "connector", "started_at", "finished_at", "status", "rows_loaded"), r))
            for r in rows]


# --- HTTP --------------------------------------------------------------------------------------


def http(url: str, body: dict | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
    """GET (or POST JSON when body is given); returns (status, body) for any HTTP status."""
    data = None if body is None else json.dumps(body).encode()
    headers = {} if body is None else {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers, method="GET" if body is None else "POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def dash_callback_body(dependencies: list[dict], output_contains: str, values: dict[str, object]) -> dict:
    """The JSON a browser posts to /_dash-update-component for the callback whose output names
    `output_contains`; `values` maps "id.property" to the value sent for inputs and states."""
    matches = [d for d in dependencies if output_contains in d["output"]]
    assert len(matches) == 1, f"expected one callback writing {output_contains}, found {[d['output'] for d in matches]}"
    dep = matches[0]
    out = dep["output"]
    if out.startswith(".."):
        outputs = [dict(zip(("id", "property"), o.rsplit(".", 1))) for o in out[2:-2].split("...")]
    else:
        outputs = dict(zip(("id", "property"), out.rsplit(".", 1)))

    def items(group):
        return [{"id": i["id"], "property": i["property"], "value": values.get(f"{i['id']}.{i['property']}")}
                for i in group]

    inputs = items(dep["inputs"])
    return {"output": out, "outputs": outputs, "inputs": inputs, "state": items(dep.get("state", [])),
            "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs]}
