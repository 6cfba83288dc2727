"""Smoke test: the KPI benchmark runs at a tiny scale, so it never rots (no timing asserted)."""

from __future__ import annotations

from benchmarks.bench_kpis import main


def test_kpi_benchmark_smoke(tmp_path, capsys):
    result = main(["--months", "1", "--copies", "2", "--dir", str(tmp_path)])
    assert result["fact_rows"] > 10_000 and result["snapshot_rows"] > 0
    out = capsys.readouterr().out
    assert "full recompute" in out and "incremental recompute" in out
