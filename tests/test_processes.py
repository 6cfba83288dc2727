"""Serving while loading, proven with real processes (ARCHITECTURE.md, "Serving while loading").

One module-wide scratch plant (the golden CSVs, every connector on a 2 s schedule) with
`cockpit scheduler` as the single writer and the web under `gunicorn -w 2 app:server`, both on
127.0.0.1. The tests run in file order: start-up, a refused second writer, the web, then one
measured window of loads while pages and the serving file are polled, then CLI work handed to the
scheduler as a request, and finally a clean stop that frees the lock.

Every wait is a bounded poll; every process runs in its own process group and is killed at the end.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proc_helpers import (
    ROOT,
    Plant,
    Proc,
    base_env,
    children_of,
    cockpit_argv,
    dash_callback_body,
    describe_all,
    free_port,
    gunicorn_has_control_socket_option,
    http,
    load_runs,
    make_plant,
    open_files,
    read_serving,
    rewrite_atomically,
    run_cli,
    serving_meta,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

SCHEDULE_S = 2
WINDOW_S = 8  # whole seconds: runs are stamped with whole plant-local seconds
REFUSE_WITHIN_S = 10  # an idle machine refuses in well under 1 s (imports included)
REFUSE_UNDER_LOAD_S = 15  # during the window both cores are busy serving and polling


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plant(tmp_path_factory) -> Plant:
    return make_plant(tmp_path_factory.mktemp("plant"), schedule=f"{SCHEDULE_S}s", refresh_s=SCHEDULE_S)


@pytest.fixture(scope="module")
def procs():
    """Every process the module starts, for failure messages and a guaranteed cleanup."""
    started: list[Proc] = []
    try:
        yield started
    finally:
        for p in reversed(started):
            p.stop(grace=5)


def start_scheduler(plant: Plant, procs: list[Proc], name: str = "scheduler") -> Proc:
    p = Proc.start(name, [*cockpit_argv(), "--config", str(plant.config), "scheduler"], plant.dir / "logs",
                   cwd=plant.dir)
    procs.append(p)
    return p


@pytest.fixture(scope="module")
def scheduler(plant, procs) -> Proc:
    p = start_scheduler(plant, procs)
    wait_until(lambda: plant.serving.exists(), 45, "cockpit scheduler publishes var/serving.duckdb after its "
               "initial load", [p])
    wait_until(lambda: (plant.holder() or {}).get("pid") == p.pid, 5,
               "the scheduler records itself as the writer-lock holder", [p])
    yield p
    p.stop()


@dataclass
class Web:
    proc: Proc
    base: str
    dependencies: list[dict] = field(default_factory=list)

    def callback(self, output_contains: str, values: dict) -> tuple[int, bytes]:
        return http(self.base + "/_dash-update-component",
                    dash_callback_body(self.dependencies, output_contains, values), timeout=15)


# The callbacks a wall screen fires, each of which reads the serving file inside a gunicorn worker.
CALLBACKS = [
    ("page.children", {"url.pathname": "/sources", "url.search": ""}),
    ("tile-", {"tick.n_intervals": 1, "serving-version.data": None, "url.search": ""}),
    ("header-as-of.children", {"shell-tick.n_intervals": 1, "url.search": ""}),
    ("page.children", {"url.pathname": "/", "url.search": "?lang=en"}),
]


@pytest.fixture(scope="module")
def web(plant, scheduler, procs) -> Web:
    env = base_env(COCKPIT_CONFIG=str(plant.config))
    for attempt in range(3):
        port = free_port()
        argv = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                "--graceful-timeout", "3", "--timeout", "60"]
        if gunicorn_has_control_socket_option():
            argv.append("--no-control-socket")  # parallel runs must not share ~/.gunicorn/gunicorn.ctl
        argv.append("app:server")
        p = Proc.start("gunicorn", argv, plant.dir / "logs", cwd=ROOT, env=env)
        procs.append(p)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda base=base: http(base + "/_dash-layout", timeout=3)[0] == 200, 45,
                       f"gunicorn -w 2 app:server answers {base}/_dash-layout", [p, scheduler])
        except AssertionError:
            if not p.alive() and "already in use" in p.stderr() and attempt < 2:
                continue  # lost the free port to someone else: try another one
            raise
        status, body = http(base + "/_dash-dependencies")
        assert status == 200, f"/_dash-dependencies -> {status}\n{describe_all([p, scheduler])}"
        web = Web(p, base, json.loads(body))
        yield web
        p.stop()
        return


def runs_per_connector(plant: Plant) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for r in load_runs(plant.serving):
        counts[r["connector"]] += 1
    return counts


@dataclass
class WindowResult:
    t0: datetime
    t_end: datetime
    runs: list[dict]
    http_results: list[tuple[str, int, float]]
    serving_errors: list[str]
    versions: set[str]
    holders: list[dict | None]
    polls: int
    second_rc: int | None
    second_stderr: str
    second_elapsed: float
    gunicorn_files: dict[int, list[str]]


@pytest.fixture(scope="module")
def window(plant, scheduler, web, procs) -> WindowResult:
    """Measure WINDOW_S seconds of scheduled loads while pages and the serving file are polled.

    During the window: a second scheduler tries to start, and two plant exports change (atomically),
    so the writer really loads rows, recomputes KPIs and swaps the serving file while pages are read.
    """
    all_procs = [scheduler, web.proc]
    # Steady state first: the initial load and at least one scheduled tick are published.
    wait_until(lambda: all(runs_per_connector(plant).get(c, 0) >= 2 for c in plant.connectors), 20,
               "every connector has run at least twice (initial load + one 2 s tick)", all_procs)

    t0 = plant.now().replace(microsecond=0) + timedelta(seconds=1)
    t_end = t0 + timedelta(seconds=WINDOW_S)
    time.sleep(max(0.0, (t0 - plant.now()).total_seconds()))

    http_results: list[tuple[str, int, float]] = []
    serving_errors: list[str] = []
    versions: set[str] = set()
    holders: list[dict | None] = []
    polls = 0
    second: Proc | None = None
    second_started = 0.0
    second_exited_after: float | None = None
    changed_production = changed_energy = False
    start = time.monotonic()
    deadline = start + WINDOW_S + 5  # the loop ends at t_end; this only bounds a stuck request

    while plant.now() < t_end and time.monotonic() < deadline:
        elapsed = time.monotonic() - start
        if second is None and elapsed >= 1.0:
            second = start_scheduler(plant, procs, name="scheduler-second")
            second_started = time.monotonic()
        if second is not None and second_exited_after is None and not second.alive():
            second_exited_after = time.monotonic() - second_started
        if not changed_production and elapsed >= 2.5:
            path = plant.dir / "production_record.csv"
            rewrite_atomically(path, path.read_text(encoding="utf-8").rstrip("\n")
                               + "\nR3,L1,A,O3,2025-01-07 09:00:00,2025-01-07 15:00:00,310,300,8,2\n")
            changed_production = True
        if not changed_energy and elapsed >= 5.0:
            path = plant.dir / "energy_reading.csv"
            rewrite_atomically(path, path.read_text(encoding="utf-8").rstrip("\n")
                               + "\nML1,2025-01-07 08:00:00,86400,1100\n")
            changed_energy = True

        t = time.monotonic() - start
        try:
            status, _ = http(web.base + "/_dash-layout", timeout=10)
        except OSError as exc:  # connection refused/reset: the web stopped answering
            status = -1
            serving_errors.append(f"GET /_dash-layout at {t:.2f}s: {exc!r}")
        http_results.append(("GET /_dash-layout", status, t))
        name, values = CALLBACKS[polls % len(CALLBACKS)]
        try:
            status, _ = web.callback(name, values)
        except OSError as exc:
            status = -1
            serving_errors.append(f"callback {name} at {t:.2f}s: {exc!r}")
        http_results.append((f"POST callback {name} {values}", status, t))
        if polls % 4 == 0:
            try:
                status, _ = http(web.base + "/", timeout=10)
            except OSError as exc:
                status = -1
                serving_errors.append(f"GET / at {t:.2f}s: {exc!r}")
            http_results.append(("GET /", status, t))
        try:
            meta = serving_meta(plant.serving)
            versions.add(meta["version"])
            read_serving(plant.serving, "SELECT count(*) FROM load_run")
        except Exception as exc:  # noqa: BLE001 - any failure to open the published file is the finding
            serving_errors.append(f"serving file at {t:.2f}s: {exc!r}")
        holders.append(plant.holder())
        polls += 1
        time.sleep(0.15)  # leave CPU to the processes under test (2 cores)

    assert plant.now() >= t_end, f"the polling loop overran its bound\n{describe_all(all_procs)}"
    assert second is not None, "the window ended before the second scheduler was started"
    second_rc = second.wait(max(0.5, REFUSE_UNDER_LOAD_S - (time.monotonic() - second_started)))
    second_elapsed = second_exited_after if second_exited_after is not None else time.monotonic() - second_started
    second_stderr = second.stderr()
    if second_rc is None:
        second.stop()

    # Files the web processes hold open, while they have just been reading the serving file.
    gunicorn_pids = [web.proc.pid, *children_of(web.proc.pid)]
    gunicorn_files = {pid: open_files(pid) for pid in gunicorn_pids}

    # Wait for a publish stamped well after the window, so every run started in it is in the file.
    def published_after_window():
        published = serving_meta(plant.serving).get("published_at")
        return published and datetime.fromisoformat(published) >= t_end + timedelta(seconds=2)

    wait_until(published_after_window, 20, "the scheduler publishes after the measured window", all_procs)
    return WindowResult(t0, t_end, load_runs(plant.serving), http_results, serving_errors, versions, holders,
                        polls, second_rc, second_stderr, second_elapsed, gunicorn_files)


# --- 1. start-up ---------------------------------------------------------------------------------


def test_scheduler_initial_load_publishes_and_status_lists_connectors(plant, scheduler):
    assert plant.serving.is_file(), f"no {plant.serving}\n{scheduler.describe()}"
    res, _ = run_cli(plant, "status", "--json")
    assert res.returncode == 0, f"cockpit status --json exited {res.returncode}\n{res.stderr}\n{scheduler.describe()}"
    sources = json.loads(res.stdout)
    by_name = {s["connector"]: s for s in sources}
    assert sorted(by_name) == plant.connectors, f"status lists {sorted(by_name)}, config has {plant.connectors}"
    for name, s in by_name.items():
        assert s["schedule"] == f"{SCHEDULE_S}s", s
        assert s["state"] == "ok" and s["last_status"] in ("ok", "unchanged"), \
            f"{name} after the initial load: {s}\n{scheduler.describe()}"
    # The initial load really loaded the golden rows (every golden connector has data).
    first_runs = {}
    for r in load_runs(plant.serving):
        first_runs.setdefault(r["connector"], r)
    assert all(first_runs[c]["status"] == "ok" and first_runs[c]["rows_loaded"] > 0 for c in plant.connectors), \
        f"initial load runs: {first_runs}"

    res, _ = run_cli(plant, "kpis", "--json")
    assert res.returncode == 0, f"cockpit kpis --json exited {res.returncode}\n{res.stderr}"
    doc = json.loads(res.stdout)
    assert doc["kpis"] and doc["published_at"], doc
    holder = plant.holder()
    assert holder and holder["role"] == "scheduler" and holder["pid"] == scheduler.pid, holder


# --- 2. a second writer is refused ---------------------------------------------------------------


def test_second_scheduler_refuses_to_start_naming_the_holder(plant, scheduler, procs):
    second = start_scheduler(plant, procs, name="scheduler-second")
    rc = second.wait(REFUSE_WITHIN_S)
    print(f"second scheduler refused in {time.monotonic() - second.started:.2f} s")
    try:
        assert rc is not None, f"a second `cockpit scheduler` was still running after {REFUSE_WITHIN_S} s\n" \
                               f"{describe_all([second, scheduler])}"
        assert rc == 2, f"second scheduler exit code {rc}, expected 2\n{second.describe()}"
        err = second.stderr()
        assert "refusing to start" in err and f"'scheduler' (pid {scheduler.pid}" in err, \
            f"stderr does not name the holder 'scheduler' (pid {scheduler.pid}):\n{err}"
    finally:
        second.stop()
    assert scheduler.alive(), scheduler.describe()
    holder = plant.holder()
    assert holder and holder["pid"] == scheduler.pid and holder["role"] == "scheduler", \
        f"the refused scheduler disturbed the holder file: {holder}"


# --- 3. the web under gunicorn ------------------------------------------------------------------


def test_gunicorn_serves_pages_and_never_takes_the_writer_lock(plant, scheduler, web):
    status, body = http(web.base + "/")
    assert status == 200, f"GET / -> {status}\n{describe_all([web.proc, scheduler])}"
    assert b"_dash-config" in body or b"react-entry-point" in body, body[:500]
    status, body = http(web.base + "/_dash-layout")
    assert status == 200, f"GET /_dash-layout -> {status}\n{describe_all([web.proc, scheduler])}"
    assert json.loads(body)["props"], body[:300]
    for name, values in CALLBACKS:  # make the workers read the serving file
        status, body = web.callback(name, values)
        assert status in (200, 204), f"callback {name} -> {status}: {body[:800]!r}\n{web.proc.describe()}"
    status, body = web.callback("page.children", {"url.pathname": "/sources", "url.search": ""})
    assert status == 200 and plant.connectors[0].encode() in body, \
        f"the sources page does not list the connectors: {status} {body[:500]!r}"

    workers = children_of(web.proc.pid)
    assert len(workers) == 2, f"gunicorn -w 2 runs workers {workers}\n{web.proc.describe()}"
    for pid in [web.proc.pid, *workers]:
        held = [f for f in open_files(pid) if f.endswith(("writer.lock", "store.duckdb", "store.duckdb.wal"))]
        assert not held, f"web process {pid} holds the writer's files: {held}"
    holder = plant.holder()
    assert holder and holder["pid"] == scheduler.pid and holder["role"] == "scheduler", \
        f"after the web started the holder is {holder}, not the scheduler (pid {scheduler.pid})"
    assert "writer.lock" not in web.proc.stderr()


# --- 4. exactly one run per tick ------------------------------------------------------------------


def test_exactly_one_run_per_tick_while_web_and_refused_writer_run(plant, scheduler, window: WindowResult):
    assert window.second_rc == 2, (f"the second scheduler started during the window did not exit 2 within "
                                   f"{REFUSE_UNDER_LOAD_S} s (rc {window.second_rc}):\n{window.second_stderr}")
    assert f"'scheduler' (pid {scheduler.pid}" in window.second_stderr, window.second_stderr

    expected = WINDOW_S // SCHEDULE_S
    in_window: dict[str, list[dict]] = defaultdict(list)
    for r in window.runs:
        if window.t0 <= r["started_at"] < window.t_end:
            in_window[r["connector"]].append(r)
    counts = {c: len(in_window[c]) for c in plant.connectors}
    report = (f"window {window.t0}..{window.t_end} ({WINDOW_S} s, schedule {SCHEDULE_S} s): runs {counts}\n"
              f"{describe_all([scheduler])}")
    print(f"\n{report.splitlines()[0]}; {window.polls} polls, versions seen {sorted(window.versions, key=int)}, "
          f"second scheduler refused in {window.second_elapsed:.2f} s")
    for c, n in counts.items():
        assert abs(n - expected) <= 1, f"{c}: {n} runs, expected {expected} ± 1\n{report}"
        assert n < 2 * expected, f"{c}: {n} runs, double the schedule: someone else ran the jobs\n{report}"

    by_connector: dict[str, list[datetime]] = defaultdict(list)
    for r in window.runs:
        by_connector[r["connector"]].append(r["started_at"])
    for c, starts in by_connector.items():
        starts.sort()
        close = [(a, b) for a, b in itertools.pairwise(starts) if (b - a).total_seconds() < 1.0]
        assert not close, f"{c}: runs closer than 1 s: {close}\n{report}"
    assert {r["connector"] for r in window.runs} == set(plant.connectors)


# --- 6. pages keep answering while loads happen ----------------------------------------------------


def test_pages_and_serving_file_answer_while_loading(plant, scheduler, web, window: WindowResult):
    failures = [(what, status, round(t, 2)) for what, status, t in window.http_results
                if status < 0 or status >= 500]
    assert not failures, f"server errors during loads: {failures[:10]}\n{describe_all([web.proc, scheduler])}"
    others = [(what, status) for what, status, _ in window.http_results if status not in (200, 204)]
    assert not others, f"unexpected statuses during loads: {others[:10]}"
    assert not window.serving_errors, "the serving file was not openable read-only / web not answering:\n" + \
        "\n".join(window.serving_errors[:10])
    assert window.polls >= 8, f"only {window.polls} polls in {WINDOW_S} s: too few to prove anything"
    assert len(window.versions) >= 3, \
        f"only versions {window.versions} were seen: the serving file was hardly swapped during the polls"

    # The writer did real work in the window, not only 'unchanged' runs: both changed exports were loaded.
    loaded = {r["connector"] for r in window.runs
              if window.t0 <= r["started_at"] and r["status"] == "ok" and r["rows_loaded"] > 0}
    assert {"production_record", "energy_reading"} <= loaded, \
        f"changed exports not loaded during the window (loaded: {loaded})\n{scheduler.describe()}"
    failed = [r for r in window.runs if r["status"] == "failed"]
    assert not failed, f"failed runs: {failed}"

    bad_holders = [h for h in window.holders if not h or h.get("pid") != scheduler.pid or h.get("role") != "scheduler"]
    assert not bad_holders, f"the writer-lock holder changed during the window: {bad_holders[:3]}"
    assert len(window.gunicorn_files) == 3, f"expected gunicorn master + 2 workers: {list(window.gunicorn_files)}"
    for pid, files in window.gunicorn_files.items():
        held = [f for f in files if f.endswith(("writer.lock", "store.duckdb", "store.duckdb.wal"))]
        assert not held, f"web process {pid} holds the writer's files: {held}"
    assert web.proc.alive() and scheduler.alive(), describe_all([web.proc, scheduler])
    for proc in (scheduler, web.proc):
        log = proc.stderr()
        assert "Traceback" not in log and " ERROR " not in log, f"errors logged while loading\n{proc.describe(20000)}"


# --- 5. CLI writes while the scheduler runs are handed to it ---------------------------------------


def test_cli_load_is_handed_to_the_scheduler_or_refused_with_wait_0(plant, scheduler, window):
    res, took = run_cli(plant, "load", "--wait", "30", timeout=45)
    assert res.returncode == 0, (f"cockpit load --wait 30 exited {res.returncode} after {took:.1f} s\n"
                                 f"[stdout]\n{res.stdout}\n[stderr]\n{res.stderr}\n{scheduler.describe()}")
    assert "handed to it as request" in res.stderr and f"pid {scheduler.pid}" in res.stderr, res.stderr
    answer = json.loads(res.stdout)
    assert answer["ok"] is True, answer
    runs = {r["connector"]: r for r in answer["runs"]}
    assert sorted(runs) == plant.connectors, f"the request ran {sorted(runs)}"
    assert all(r["status"] in ("ok", "unchanged") for r in runs.values()), runs
    # The scheduler (not the CLI) wrote them: they appear in what the scheduler publishes.
    wanted = {r["run_id"] for r in runs.values()}
    wait_until(lambda: wanted <= {r["run_id"] for r in load_runs(plant.serving)}, 15,
               f"the request's runs {sorted(wanted)} are published", [scheduler])
    leftovers = sorted(p.name for p in plant.requests_dir.iterdir()) if plant.requests_dir.exists() else []
    assert not leftovers, f"request files left behind: {leftovers}"

    res, took = run_cli(plant, "load", "--wait", "0", timeout=20)
    assert res.returncode == 2, f"cockpit load --wait 0 exited {res.returncode}, expected 2\n{res.stderr}"
    assert f"'scheduler' (pid {scheduler.pid}" in res.stderr, f"stderr does not name the holder:\n{res.stderr}"
    assert took < REFUSE_WITHIN_S, f"--wait 0 took {took:.1f} s"
    assert not (plant.requests_dir.exists() and any(plant.requests_dir.iterdir())), \
        "--wait 0 must not queue a request"
    holder = plant.holder()
    assert holder and holder["pid"] == scheduler.pid and holder["role"] == "scheduler", holder
    assert scheduler.alive(), scheduler.describe()


# --- and a clean stop frees the lock ----------------------------------------------------------------


def test_scheduler_stops_on_sigterm_and_frees_the_lock(plant, scheduler, web):
    rc = scheduler.stop(grace=15)
    assert rc == 0, f"scheduler exit code {rc} after SIGTERM\n{scheduler.describe()}"
    assert plant.holder() is None, f"holder file left behind: {plant.holder()}"
    res, _ = run_cli(plant, "load", "--wait", "0", timeout=45)
    assert res.returncode == 0, f"with no scheduler `cockpit load` should write itself: {res.returncode}\n{res.stderr}"
    assert plant.holder() is None
    status, _ = http(web.base + "/_dash-layout")
    assert status == 200, f"the web stopped answering after the scheduler stopped\n{web.proc.describe()}"
    status, body = web.callback("page.children", {"url.pathname": "/sources", "url.search": ""})
    assert status == 200, f"sources page after the stop -> {status}: {body[:500]!r}"
