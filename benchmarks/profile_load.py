"""Where a CSV load spends its time: wall and CPU seconds per kind of SQL statement, and for the scan.

bench_load says how fast the whole path is; this says which step to look at. It runs the benchmark's
unkeyed load of one file with the store connection wrapped so every statement is timed and filed
under its first words (numbers dropped, so the per-batch statements add up), plus the file scan
(hash, line count, UTF-8 check, chunk plan) that runs before DuckDB reads anything. CPU time is the
process's (all DuckDB threads), which stays comparable when the machine is shared and wall time
is not.

    python -m benchmarks.profile_load /tmp/benchout/mes_8000000.csv --memory-limit 2GB
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.bench_load import NOW, _connect, peak_rss_mb

SCAN = "(file scan: hash, lines, UTF-8, cuts)"


def label(sql: str) -> str:
    """A statement's kind: its first words with literals and numbers dropped."""
    words = re.sub(r"'[^']*'|\b\d+\b", "?", " ".join(sql.split())).split(" ")
    skip = {"OR", "REPLACE", "TEMP", "TEMPORARY", "IF", "EXISTS", "NOT"}
    kept = [w for w in words[:8] if w.upper() not in skip]
    return " ".join(kept[:4])


class Timings:
    """Wall seconds, CPU seconds and count per label."""

    def __init__(self):
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.count: dict[str, int] = defaultdict(int)

    def add(self, key: str, wall: float, cpu: float) -> None:
        self.wall[key] += wall
        self.cpu[key] += cpu
        self.count[key] += 1

    def lines(self, top: int = 15) -> list[str]:
        keys = sorted(self.wall, key=self.wall.get, reverse=True)[:top]
        return [f"{self.wall[k]:9.2f} {self.cpu[k]:9.2f} {self.count[k]:6d}  {k}" for k in keys]


class TimedConnection:
    """A DuckDB connection whose execute() is timed; everything else passes through."""

    def __init__(self, con, timings: Timings):
        self._con, self._timings = con, timings

    def execute(self, sql, *args):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return self._con.execute(sql, *args)
        finally:
            self._timings.add(label(sql), time.perf_counter() - wall, time.process_time() - cpu)

    def commit(self):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return self._con.commit()
        finally:
            self._timings.add("COMMIT", time.perf_counter() - wall, time.process_time() - cpu)

    def __getattr__(self, name):
        return getattr(self._con, name)


def profile(path: Path, memory_limit: str | None, chunk_mb: float, folder: Path) -> tuple[Timings, dict]:
    """Load `path` as bench_load's unkeyed mode does; the timings and the run's totals."""
    from benchmarks.generate_mes_csv import HEADERS, MASTER
    from connectors import encoding
    from connectors.base import ConnectorSpec
    from connectors.loader import run_connector
    from connectors.schema import create_all

    con = _connect(folder, memory_limit)
    create_all(con)
    for name in ("org_unit", "product", "meter"):
        spec = ConnectorSpec(name=name, system="master", kind="csv", stream=name,
                             options={"path": f"{name}.csv"}, base_dir=MASTER)
        assert run_connector(con, spec, NOW).status == "ok"
    timings = Timings()
    scan = encoding.scan

    def timed_scan(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return scan(*args, **kwargs)
        finally:
            timings.add(SCAN, time.perf_counter() - wall, time.process_time() - cpu)

    spec = ConnectorSpec(name="mes_production", system="mes", kind="csv", stream="production_record",
                         options={"path": str(path), "chunk_mb": chunk_mb, "temp_dir": str(folder)}, mapping=HEADERS)
    encoding.scan = timed_scan
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        result = run_connector(TimedConnection(con, timings), spec, NOW)
        totals = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "status": result.status,
                  "rows": result.rows_in, "loaded": result.rows_loaded, "peak_rss_mb": peak_rss_mb()}
    finally:
        encoding.scan = scan
        con.close()
    if result.status != "ok":
        raise SystemExit(f"load failed: {result.error}")
    return timings, totals


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--chunk-mb", type=float, default=64)
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.work_dir) as folder:
        timings, t = profile(args.file, args.memory_limit or None, args.chunk_mb, Path(folder))
    print(f"{t['rows']:,} rows in {t['wall']:.1f} s wall, {t['cpu']:.1f} s CPU ({t['rows'] / t['wall']:,.0f} rows/s); "
          f"peak RSS {t['peak_rss_mb']:,.0f} MB")
    print(f"{'wall s':>9} {'CPU s':>9} {'count':>6}  statement")
    print("\n".join(timings.lines(args.top)))
    print(f"{t['wall'] - sum(timings.wall.values()):9.2f} {'':9} {'':6}  (outside any statement: Python, waiting "
          "for a chunk copy)")


if __name__ == "__main__":
    main()
