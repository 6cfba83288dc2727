"""Rows per second and peak memory of the CSV load path, next to DuckDB reading the same file itself.

For each size it measures, each in a fresh process (so peak RSS belongs to one measurement):
  * duckdb:  `CREATE TABLE t AS SELECT * FROM read_csv(file, all_varchar = true)` into a new store file;
  * unkeyed: run_connector for an MES production connector into a new store holding the demo plant's
             master data, production_record as schema.py declares it (no PRIMARY KEY: the loader keeps
             the key unique itself): scan and hash, read, map, parse, validate, quarantine, write, commit;
  * keyed:   the same with a PRIMARY KEY added to production_record (how stores of earlier releases
             have it; the loader then upserts per batch).

Every store is opened as cockpit/store.py opens it, with an explicit memory_limit, plus a temp_directory
next to it so DuckDB can spill.

    python -m benchmarks.bench_load --rows 2000000 8000000 --write-docs
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).parents[1]
OUT = ROOT / "benchmarks" / "out"
DOCS = ROOT / "docs" / "benchmarks.md"
HEADING = "## Load (CSV connector)"
NOW = datetime(2100, 1, 1)  # every generated timestamp is before it (35 M rows reach 2037)
MODES = ("keyed", "unkeyed")


def peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM on Linux, else getrusage)."""
    try:
        text = Path("/proc/self/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", text).group(1)) / 1024
    except (OSError, AttributeError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _connect(folder: Path, memory_limit: str | None):
    import duckdb

    config = {"temp_directory": str(folder / "spill")}
    if memory_limit:
        config["memory_limit"] = memory_limit
    return duckdb.connect(str(folder / "store.duckdb"), config=config)


def child_duckdb(path: Path, memory_limit: str | None, folder: Path) -> dict:
    con = _connect(folder, memory_limit)
    started = time.perf_counter()
    con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, all_varchar = true, header = true)", [str(path)])
    seconds = time.perf_counter() - started
    rows = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
    con.close()
    return {"seconds": seconds, "rows": rows, "peak_rss_mb": peak_rss_mb()}


def child_full(path: Path, memory_limit: str | None, chunk_mb: float, folder: Path, keyed: bool) -> dict:
    from benchmarks.generate_mes_csv import HEADERS, MASTER
    from connectors.base import ConnectorSpec
    from connectors.loader import run_connector
    from connectors.schema import create_all

    con = _connect(folder, memory_limit)
    create_all(con)
    if keyed:  # as stores of earlier releases have it
        from connectors.schema import STREAMS

        con.execute(f"ALTER TABLE production_record ADD PRIMARY KEY ({', '.join(STREAMS['production_record'].key)})")
    for name in ("org_unit", "product", "meter"):
        spec = ConnectorSpec(name=name, system="master", kind="csv", stream=name,
                             options={"path": f"{name}.csv"}, base_dir=MASTER)
        assert run_connector(con, spec, NOW).status == "ok"
    spec = ConnectorSpec(name="mes_production", system="mes", kind="csv", stream="production_record",
                         options={"path": str(path), "chunk_mb": chunk_mb, "temp_dir": str(folder)}, mapping=HEADERS)
    started = time.perf_counter()
    result = run_connector(con, spec, NOW)
    seconds = time.perf_counter() - started
    con.close()
    if result.status != "ok":
        raise SystemExit(f"load failed: {result.error}")
    return {"seconds": seconds, "rows": result.rows_in, "loaded": result.rows_loaded,
            "quarantined": result.rows_quarantined, "peak_rss_mb": peak_rss_mb()}


def measure(what: str, path: Path, memory_limit: str | None, chunk_mb: float, work: Path) -> dict:
    """One measurement in its own process; a failure (such as DuckDB running out of memory) is reported."""
    cmd = [sys.executable, "-m", "benchmarks.bench_load", "--child", what, str(path), "--chunk-mb", str(chunk_mb),
           "--memory-limit", memory_limit or ""]
    with tempfile.TemporaryDirectory(dir=work) as folder:
        out = subprocess.run([*cmd, "--work-dir", folder], cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode:
        last = (out.stderr.strip().splitlines() or ["exit code %d" % out.returncode])[-1]
        return {"error": last[:300]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def best(old: dict | None, new: dict) -> dict:
    """The faster of two runs of one measurement, with the higher peak RSS of the two."""
    if old is None or "error" in old:
        return new
    if "error" in new:
        return old
    faster = dict(min(old, new, key=lambda m: m["seconds"]))
    faster["peak_rss_mb"] = max(old["peak_rss_mb"], new["peak_rss_mb"])
    return faster


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in _read("/proc/cpuinfo").splitlines()
                if ln.startswith("model name")), platform.processor() or "unknown CPU")
    mem = re.search(r"MemTotal:\s+(\d+) kB", _read("/proc/meminfo"))
    ram = f"{int(mem.group(1)) / 1024 / 1024:.0f} GB RAM" if mem else "RAM unknown"
    import duckdb

    return (f"{os.cpu_count()} CPUs (nproc), {cpu}, {ram}; Python {platform.python_version()}, "
            f"DuckDB {duckdb.__version__}, {platform.system()}")


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _rate(m: dict) -> float | None:
    return m["rows"] / m["seconds"] if "rows" in m else None


def _cells(m: dict, raw_rate: float | None) -> list[str]:
    if "error" in m:
        return ["failed", "", ""]
    rate = _rate(m)
    ratio = f"{rate / raw_rate:.2f}" if raw_rate else ""
    return [f"{rate:,.0f}", ratio, f"{m['peak_rss_mb']:,.0f}"]


def table(results: list[dict], modes: list[str]) -> list[str]:
    head = ["rows", "file MB", "memory_limit", "DuckDB rows/s", "DuckDB peak RSS MB"]
    for mode in modes:
        head += [f"{mode} rows/s", f"{mode} ratio", f"{mode} peak RSS MB"]
    head.append("quarantined")
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for r in results:
        raw = r["duckdb"]
        raw_rate = _rate(raw)
        cells = [f"{r['rows']:,}", f"{r['mb']:,.0f}", r["memory_limit"] or "default",
                 f"{raw_rate:,.0f}" if raw_rate else "failed", f"{raw['peak_rss_mb']:,.0f}" if raw_rate else ""]
        for mode in modes:
            cells += _cells(r[mode], raw_rate)
        quarantined = next((r[m]["quarantined"] for m in modes if "quarantined" in r[m]), None)
        cells.append(f"{quarantined:,}" if quarantined is not None else "")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def report(results: list[dict], chunk_mb: float, modes: list[str], repeat: int = 1) -> str:
    lines = [HEADING, "",
             f"Measured {datetime.now():%Y-%m-%d} with `python -m benchmarks.bench_load` on {machine()}.",
             (f"Chunk size {chunk_mb:g} MB. The file is an MES production export from "
              "`benchmarks/generate_mes_csv.py` (UTF-8, Chinese headers, about 1 % bad rows). \"DuckDB\" is "
              "`read_csv(all_varchar = true)` of the same file into a table of a new store; \"unkeyed\" is "
              "`run_connector` into a new store with the demo plant's master data and production_record as "
              "schema.py declares it (no PRIMARY KEY: the loader keeps the key unique itself); \"keyed\" the "
              "same with a PRIMARY KEY added (as stores of earlier releases have it). Both include scan and hash, "
              "read, map, parse, validate, quarantine, write and commit; ratio is rows/s over DuckDB's rows/s. "
              "Each runs in its own process; peak RSS is that process's VmHWM. Stores are opened with the "
              "memory_limit shown and a temp_directory."
              + (f" Best of {repeat} interleaved runs (peak RSS: the highest of them)." if repeat > 1 else "")), "",
             *table(results, modes)]
    return "\n".join(lines) + "\n"


def write_docs(section: str, docs: Path = DOCS) -> None:
    """Replace this section of docs/benchmarks.md, keeping any other section."""
    text = docs.read_text(encoding="utf-8") if docs.exists() else "# Benchmarks\n\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    text = pattern.sub(lambda _m: section + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    docs.parent.mkdir(parents=True, exist_ok=True)
    docs.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 4_000_000])
    parser.add_argument("--out-dir", type=Path, default=OUT, help="where generated files are kept")
    parser.add_argument("--memory-limit", default="4GB",
                        help="DuckDB memory_limit for every measurement ('' for DuckDB's default, 80 %% of RAM)")
    parser.add_argument("--chunk-mb", type=float, default=64)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the fastest counts")
    parser.add_argument("--write-docs", nargs="?", const=str(DOCS), default=None, metavar="PATH")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="where stores, spill files and chunk files go (default: the system temp dir)")
    parser.add_argument("--child", nargs=2, metavar=("WHAT", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        what, path = args.child[0], Path(args.child[1])
        limit = args.memory_limit or None
        result = (child_duckdb(path, limit, args.work_dir) if what == "duckdb"
                  else child_full(path, limit, args.chunk_mb, args.work_dir, keyed=what == "keyed"))
        print(json.dumps(result))
        return
    from benchmarks.generate_mes_csv import generate

    work = args.work_dir or Path(tempfile.gettempdir())
    results = []
    for rows in args.rows:
        path = args.out_dir / f"mes_{rows}.csv"
        if not path.exists():
            generate(rows, path)
        r = {"rows": rows, "mb": path.stat().st_size / 1e6, "memory_limit": args.memory_limit}
        for _ in range(args.repeat):  # interleaved, so a busy moment of a shared machine hits all alike
            for what in ("duckdb", *args.modes):
                r[what] = best(r.get(what), measure(what, path, args.memory_limit, args.chunk_mb, work))
        results.append(r)
        raw_rate = _rate(r["duckdb"])
        parts = [f"{rows:>10,} rows", f"duckdb {raw_rate:,.0f} rows/s" if raw_rate else "duckdb failed"]
        for mode in args.modes:
            m = r[mode]
            parts.append(f"{mode} failed: {m['error']}" if "error" in m else
                         f"{mode} {_rate(m):,.0f} rows/s ratio {_rate(m) / raw_rate if raw_rate else 0:.2f} "
                         f"peak RSS {m['peak_rss_mb']:,.0f} MB")
        print("  ".join(parts), flush=True)
    section = report(results, args.chunk_mb, args.modes, args.repeat)
    print(section)
    if args.write_docs:
        write_docs(section, Path(args.write_docs))


if __name__ == "__main__":
    main()
