"""The whole quarantine of a connector as a CSV file, written by the writer for IT to download.

The serving file keeps only each connector's newest 1000 rejected rows (one noisy feed must not
swell what every publish copies), so a complete export comes from the store, which only the writer
may open: the admin page and `cockpit connectors quarantine` ask it for one.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime
from pathlib import Path

import duckdb

KEEP = 10  # newest export files kept in var/exports
BATCH = 50_000


def export(con: duckdb.DuckDBPyConnection, folder: Path, connector: str | None, now: datetime) -> dict:
    """Write quarantine-<connector|all>-<time>.csv (UTF-8 with BOM, for Excel on Chinese Windows), newest first."""
    folder.mkdir(parents=True, exist_ok=True)
    label = re.sub(r"[^A-Za-z0-9_-]", "_", connector or "all")
    path = folder / f"quarantine-{label}-{now:%Y%m%d-%H%M%S}.csv"
    tmp = path.with_name("." + path.name + ".tmp")
    result = con.execute("SELECT * FROM quarantine WHERE $c IS NULL OR connector = $c "
                         "ORDER BY quarantined_at DESC, connector, source_file, source_line", {"c": connector})
    header = [d[0] for d in result.description]
    rows = 0
    with open(tmp, "w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        while chunk := result.fetchmany(BATCH):
            out.writerows(chunk)
            rows += len(chunk)
    tmp.replace(path)
    for old in sorted(folder.glob("quarantine-*.csv"), key=lambda p: p.stat().st_mtime)[:-KEEP]:
        old.unlink(missing_ok=True)
    return {"path": str(path), "rows": rows}
