"""The read side: re-attaching after the writer swaps the serving file, while threads are reading."""

from __future__ import annotations

import os
import threading
from datetime import datetime

import duckdb
import pandas as pd

from cockpit.serving import Serving


def _publish(path, version: int) -> None:
    tmp = path.with_name(".next.duckdb")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    con.execute("CREATE TABLE meta (key VARCHAR, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('version', ?), ('published_at', ?)", [str(version), str(datetime.now())])
    con.execute("CREATE TABLE big AS SELECT range AS x FROM range(20000)")
    con.close()
    os.replace(tmp, path)


def test_readers_survive_swaps(tmp_path):
    path = tmp_path / "serving.duckdb"
    _publish(path, 1)
    serving = Serving(path)
    errors: list[Exception] = []
    stop = threading.Event()

    def read():
        while not stop.is_set():
            try:
                assert serving.query("SELECT count(*) AS n FROM big")["n"][0] == 20000
                serving.version()
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for th in threads:
        th.start()
    for version in range(2, 60):
        _publish(path, version)
    stop.set()
    for th in threads:
        th.join(timeout=30)
    assert not errors, errors[:3]
    assert serving.version() == "59"


def test_a_source_is_never_shown_as_of_the_future(golden_writer):
    """Runs stored before the loader clamped data-as-of (an ERP forecast for next month said 2025-03-01)."""
    from cockpit.publish import source_status
    from tests.conftest import NOW

    con = golden_writer.con
    name = next(iter(golden_writer.settings.connectors))
    con.execute("INSERT INTO load_run (run_id, connector, status, finished_at, rows_loaded, rows_quarantined, "
                "data_as_of) VALUES (1, ?, 'ok', ?, 1, 0, TIMESTAMP '2025-03-01 00:00')", [name, NOW])
    status = source_status(con, golden_writer.settings, NOW).set_index("connector")
    assert status.loc[name, "data_as_of"] == pd.Timestamp(NOW)
