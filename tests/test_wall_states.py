"""The wall tells zero, no data, error and a failing source apart at a glance (issue 5, bad input)."""

from __future__ import annotations

import pandas as pd
import pytest

from cockpit import config
from cockpit.serving import Serving
from cockpit.web import wall
from cockpit.writer import Writer
from tests.conftest import NOW

ITEM = {"id": "defect_rate", "name_zh": "产品不良品率", "name_en": "Defect rate", "baseline": 3.0, "report": 0.0,
        "change_pct": -100.0, "improvement_pct": 100.0, "status": "ok", "baseline_status": "ok",
        "late_correction": False, "coverage": 1.0, "target": None}


@pytest.mark.parametrize("status, report, shown, mood", [
    ("ok", 0.0, "0.00", "tile-better"),  # a zero defect rate is a number, and an improvement
    ("no_data", None, "无数据", "tile-neutral"),
    ("error", None, "错误", "tile-error"),
    ("not_planned", None, "无计划", "tile-neutral"),
    ("insufficient", None, "数据不足", "tile-neutral"),
])
def test_zero_no_data_and_error_never_look_alike(status, report, shown, mood):
    months = pd.DataFrame({"period_start": [], "value": [], "status": []})
    children, css = wall.tile_children({**ITEM, "status": status, "report": report}, months, "zh", 2)
    value = children[1]
    assert css == f"tile {mood}"
    text = str(value)
    assert shown in text
    if status == "ok":
        assert "tile-number" in text and "tile-status" not in text
    else:
        assert "tile-status" in text and "tile-number" not in text


def test_a_tile_whose_source_failed_says_so(golden_dir):
    settings = config.load(golden_dir / "cockpit.toml", environ={})
    writer = Writer(settings, clock=lambda: NOW)
    try:
        writer.refresh()
        (golden_dir / "production_record.csv").write_bytes(b"\x00\x01binary junk\x00" * 10)
        (r,) = writer.refresh(["production_record"])
        assert r.status == "failed"
    finally:
        writer.close()
    tiles = wall.render(Serving(settings.serving_path), "zh")["tiles"]
    warnings = {kpi_id: str(children[3]) for kpi_id, (children, _css) in tiles.items()}
    assert "数据源异常 MES" in warnings["defect_rate"]  # PQ, GQ from production records
    assert "数据源异常" not in warnings["output_value_per_head"]  # ERP output value and headcount only
