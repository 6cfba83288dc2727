"""The benchmark scripts still run (at a tiny scale, no timing asserted), so they never rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.bench_load import HEADING, write_docs
from benchmarks.generate_mes_csv import HEADERS, generate

ROOT = Path(__file__).parents[1]


def test_generator_writes_chinese_headers_and_about_one_percent_bad_rows(tmp_path):
    path = generate(2000, tmp_path / "mes.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(HEADERS.values()) and len(lines) == 2001
    bad = sum(("十二" in ln) or ("箱" in ln) or (",-5," in ln) for ln in lines[1:])
    assert 5 <= bad <= 50


def test_bench_load_runs_both_paths_and_writes_its_docs_section(tmp_path):
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## KPI compute\n\nkept as is\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "benchmarks.bench_load", "--rows", "2000", "--out-dir", str(tmp_path),
                          "--write-docs", str(docs)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "rows/s" in out.stdout and "ratio" in out.stdout
    text = docs.read_text(encoding="utf-8")
    assert HEADING in text and "| 2,000 |" in text and "## KPI compute\n\nkept as is" in text
    write_docs(HEADING + "\n\nreplaced\n", docs)  # a second run replaces only its own section
    text = docs.read_text(encoding="utf-8")
    assert text.count(HEADING) == 1 and "replaced" in text and "kept as is" in text


def test_profile_load_files_statements_by_kind_and_times_the_scan(tmp_path):
    from benchmarks.profile_load import SCAN, label, profile

    assert label("CREATE OR REPLACE TEMP TABLE checked AS\n  WITH s AS (SELECT 1)") == "CREATE TABLE checked AS"
    assert label("INSERT INTO run_ranges SELECT 12, min(x)") == label("INSERT INTO run_ranges SELECT 3, min(x)")
    path = generate(2000, tmp_path / "mes.csv")
    (tmp_path / "work").mkdir()
    timings, totals = profile(path, "1GB", 64, tmp_path / "work")
    assert (totals["status"], totals["rows"]) == ("ok", 2000) and 1950 <= totals["loaded"] < 2000
    appends = [n for k, n in timings.count.items() if k.startswith("INSERT INTO production_record")]
    assert timings.count[SCAN] == 1 and appends == [1]  # one batch, one append
    assert sum(timings.wall.values()) <= totals["wall"]
