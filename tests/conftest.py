"""Shared fixtures: a store built from the hand-computed golden plant in tests/fixtures/golden."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from cockpit import config
from cockpit.writer import Writer

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = FIXTURES / "golden"
NOW = datetime(2025, 2, 10, 12, 0)


@pytest.fixture
def golden_dir(tmp_path: Path) -> Path:
    """A private copy of the golden plant (CSV exports + cockpit.toml) that a test may change."""
    target = tmp_path / "golden"
    shutil.copytree(GOLDEN, target, ignore=shutil.ignore_patterns("var"))
    return target


def copy_plant(fixture: Path, folder: Path) -> Path:
    """A private copy of a fixture plant (CSV exports + cockpit.toml) in `folder`; returns its cockpit.toml."""
    shutil.copytree(fixture, folder, ignore=shutil.ignore_patterns("var"))
    return folder / "cockpit.toml"


def load_plant(fixture: Path, tmp_root: Path):
    """A copy of a fixture plant loaded and computed at NOW: (writer, load results). Close the writer."""
    writer = Writer(config.load(copy_plant(fixture, tmp_root / fixture.name), environ={}), clock=lambda: NOW)
    results = writer.load()
    writer.compute()
    return writer, results


@pytest.fixture(scope="module")
def golden_loaded(tmp_path_factory):
    """One loaded and computed golden store per module, for tests that only read it."""
    writer, _results = load_plant(GOLDEN, tmp_path_factory.mktemp("golden"))
    yield writer
    writer.close()


@pytest.fixture(scope="module")
def master_file(tmp_path_factory) -> Path:
    """A store file holding the golden plant's master data (units L1/L2, products A/B, meters), built once."""
    import duckdb

    from connectors.base import ConnectorSpec
    from connectors.loader import run_connector
    from connectors.schema import create_all

    path = tmp_path_factory.mktemp("master") / "store.duckdb"
    con = duckdb.connect(str(path))
    create_all(con)
    for name in ("org_unit", "product", "meter"):
        spec = ConnectorSpec(name=name, system="master", kind="csv", stream=name, options={"path": f"{name}.csv"},
                             base_dir=GOLDEN)
        assert run_connector(con, spec, NOW).status == "ok"
    con.close()
    return path


@pytest.fixture
def golden_writer(golden_dir: Path):
    settings = config.load(golden_dir / "cockpit.toml", environ={})
    writer = Writer(settings, clock=lambda: NOW)
    yield writer
    writer.close()


def kpi(con, kpi_id: str, unit_id: str, grain: str = "month", period: str = "2025-01-01"):
    rows = con.execute(
        "SELECT value, numerator, denominator, status FROM kpi_value "
        "WHERE kpi_id = ? AND unit_id = ? AND grain = ? AND period_start = ?",
        [kpi_id, unit_id, grain, period],
    ).fetchall()
    return rows[0] if rows else None
