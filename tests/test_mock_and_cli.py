"""The live mock source pulls only what is new; the CLI prints the documented JSON shape."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from cockpit import cli, config
from cockpit.writer import Writer

ROOT = Path(__file__).parents[1]


@pytest.fixture
def live_config(tmp_path: Path) -> Path:
    text = (ROOT / "cockpit.toml").read_text(encoding="utf-8")
    text = text.replace('path = "var/demo"', f'path = "{tmp_path / "var"}"').replace('"sample_data/', f'"{ROOT}/sample_data/')
    text = text.replace("history_months = 24", "history_months = 2")
    path = tmp_path / "cockpit.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_mock_pulls_new_records_from_its_high_water_mark(live_config):
    clock = {"now": datetime(2026, 3, 10, 9, 7)}
    writer = Writer(config.load(live_config, environ={}), clock=lambda: clock["now"])
    try:
        first = {r.connector: r for r in writer.load()}
        assert all(r.status == "ok" for r in first.values()), {k: r.error for k, r in first.items()}
        energy_rows = writer.con.execute("SELECT count(*) FROM energy_reading").fetchall()[0][0]
        assert writer.con.execute("SELECT max(start_at) FROM energy_reading").fetchall()[0][0] == datetime(2026, 3, 10, 8, 45)
        clock["now"] += timedelta(minutes=30)
        second = {r.connector: r for r in writer.load()}
        # 30 minutes later: two more 15-minute intervals per electricity meter, nothing reloaded
        n_electric = writer.con.execute("SELECT count(*) FROM meter WHERE medium = 'electricity'").fetchall()[0][0]
        assert second["ems_energy"].rows_in == 2 * n_electric
        assert writer.con.execute("SELECT count(*) FROM energy_reading").fetchall()[0][0] == energy_rows + 2 * n_electric
        assert second["master_org_unit"].status == "unchanged"
        again = {r.connector: r for r in writer.load()}  # same instant: nothing new at all
        assert again["ems_energy"].rows_in == 0
    finally:
        writer.close()


def test_go_live_is_fixed_at_the_first_build(live_config):
    settings = config.load(live_config, environ={})
    first = Writer(settings, clock=lambda: datetime(2026, 3, 10))
    go_live = first.go_live
    first.close()
    second = Writer(settings, clock=lambda: datetime(2027, 1, 1))
    assert second.go_live == go_live
    second.close()


def test_kpis_json_shape(golden_dir, capsys):
    cfg = str(golden_dir / "cockpit.toml")
    assert cli.main(["--config", cfg, "load", "--wait", "0"]) == 0
    capsys.readouterr()
    assert cli.main(["--config", cfg, "kpis", "--json", "--period", "ytd"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"as_of", "baseline", "report", "kpis"}
    assert doc["baseline"] == {"from": "2024-01-01", "to": "2024-12-31"}
    assert doc["report"]["kind"] == "ytd"
    required = {"id", "name_zh", "name_en", "unit", "direction", "unit_id", "baseline", "report", "change_pct",
                "improvement_pct", "status"}
    for item in doc["kpis"]:
        assert required <= set(item)
        if item["status"] != "ok":
            assert item["report"] is None  # no data is null with a status, never 0


def test_status_and_writer_busy(golden_dir, capsys):
    from cockpit.store import writer_lock

    cfg = str(golden_dir / "cockpit.toml")
    settings = config.load(cfg, environ={})
    with writer_lock(settings, "scheduler"):
        assert cli.main(["--config", cfg, "compute", "--wait", "0"]) == cli.EXIT_BUSY
    assert "held by 'scheduler'" in capsys.readouterr().err
    assert cli.main(["--config", cfg, "load", "--wait", "0"]) == 0
    capsys.readouterr()
    assert cli.main(["--config", cfg, "status", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["connector"] for r in rows} == set(settings.connectors) and all(r["state"] == "ok" for r in rows)


def test_a_refresh_recomputes_only_from_the_changed_month_and_matches_a_full_compute(live_config):
    clock = {"now": datetime(2026, 3, 10, 9, 7)}
    writer = Writer(config.load(live_config, environ={}), clock=lambda: clock["now"])
    snapshot = "SELECT kpi_id, unit_id, grain, period_start, status, round(value, 9) FROM kpi_value ORDER BY ALL"
    shift_snapshot = ("SELECT kpi_id, unit_id, shift_start, shift_code, status, round(value, 9) FROM kpi_shift_value "
                      "ORDER BY ALL")
    try:
        writer.refresh()
        assert writer.con.execute("SELECT value FROM store_setting WHERE key = 'kpi_signature'").fetchall()
        clock["now"] += timedelta(hours=6)
        results = writer.load()
        since = writer.recompute_from(results)
        # new MES and EMS rows of 10 March (plant day starts 08:00): nothing before March changes
        assert since is not None and since >= datetime(2026, 3, 9).date(), since
        assert writer.compute(since=since)["recomputed_from"] == since.isoformat()
        incremental = writer.con.execute(snapshot).fetchall()
        shifts = writer.con.execute(shift_snapshot).fetchall()
        assert shifts  # the recent days have shift snapshots
        assert writer.compute()["recomputed_from"] is None  # no `since`: full
        assert writer.con.execute(snapshot).fetchall() == incremental
        assert writer.con.execute(shift_snapshot).fetchall() == shifts
    finally:
        writer.close()


def test_changed_settings_or_master_data_force_a_full_recompute(live_config):
    clock = {"now": datetime(2026, 3, 10, 9, 7)}
    settings = config.load(live_config, environ={})
    writer = Writer(settings, clock=lambda: clock["now"])
    try:
        writer.refresh()
        first = writer.load()
        assert all(not r.changed for r in first)  # same instant: nothing new
        day = datetime(2026, 3, 10).date()
        assert writer.compute(since=day)["recomputed_from"] == day.isoformat()
        writer.settings = dataclasses.replace(settings, energy_variant="equal_value")
        assert writer.compute(since=day)["recomputed_from"] is None  # the snapshots were made differently
        master = next(r for r in writer.load(["master_org_unit"]))
        master.status, master.changed_master, master.rows_loaded = "ok", True, 1
        assert writer.recompute_from([master]) is None
    finally:
        writer.close()


def test_connectors_quarantine_exports_every_rejected_row(golden_dir, capsys):
    cfg = str(golden_dir / "cockpit.toml")
    with open(golden_dir / "headcount.csv", "a", encoding="utf-8") as f:
        f.write("ZZ,2025-01-01,5\n")  # an unknown unit: quarantined
    text = (golden_dir / "cockpit.toml").read_text(encoding="utf-8")
    (golden_dir / "cockpit.toml").write_text(
        text.replace('path = "headcount.csv"', 'path = "headcount.csv"\nmax_reject_share = 0.9'), encoding="utf-8")
    assert cli.main(["--config", cfg, "load", "--wait", "0"]) == 0
    capsys.readouterr()
    assert cli.main(["--config", cfg, "connectors", "quarantine", "headcount", "--wait", "0"]) == 0
    answer = json.loads(capsys.readouterr().out)
    lines = Path(answer["path"]).read_text(encoding="utf-8-sig").splitlines()
    assert answer["rows"] == 1 and len(lines) == 2 and "ZZ" in lines[1] and "unknown org_unit ZZ" in lines[1]
    assert cli.main(["--config", cfg, "connectors", "quarantine", "nope", "--wait", "0"]) == 1
