"""The scheduler's jobs, called directly (tests/test_processes.py runs the real process): a scheduled load that
changed recent data recomputes from that day's month on, not everything (decision 17)."""

from __future__ import annotations

from cockpit import config
from cockpit.scheduler import CockpitScheduler
from cockpit.writer import Writer
from tests.conftest import NOW


def test_a_scheduled_load_recomputes_from_the_month_it_changed(golden_dir):
    settings = config.load(golden_dir / "cockpit.toml", environ={})
    scheduler = CockpitScheduler(settings)
    scheduler.writer = writer = Writer(settings, clock=lambda: NOW)
    computed = []
    compute = writer.compute
    writer.compute = lambda **kw: computed.append(compute(**kw)) or computed[-1]
    try:
        for name in settings.connectors:
            scheduler.run_connector(name)
        scheduler.refresh()
        assert computed[-1]["recomputed_from"] is None  # the first load brought master data: everything
        scheduler.run_connector("production_record")  # unchanged export: no recompute
        scheduler.refresh()
        assert len(computed) == 1
        path = golden_dir / "production_record.csv"
        path.write_text(path.read_text().replace(",360,324,36,0", ",360,354,6,0"))  # R2 on 2025-01-06 corrected
        scheduler.run_connector("production_record")
        scheduler.refresh()
        assert computed[-1]["recomputed_from"] == "2025-01-06"  # the engine recomputes from its month on
        good = writer.con.execute("SELECT value FROM kpi_value WHERE kpi_id = 'good_output' AND unit_id = 'L2' "
                                  "AND grain = 'day' AND period_start = DATE '2025-01-06'").fetchall()[0][0]
        assert good == 354
    finally:
        writer.close()
