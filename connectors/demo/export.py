"""Write the demo plant's history as a factory would export it: gzip CSVs per system (mes, qms, erp, wms, ems, crm).

    python -m connectors.demo.export [--out sample_data/exports] [--from 2024-01-01 --to 2026-01-01]
                                     [--go-live 2025-01-01] [--seed 42] [--master sample_data/master]

MES and QMS files have Chinese headers (the quality files are GBK, as older MES servers write them);
ERP, EMS and CRM use English headers, WMS Chinese ones. A file holds the rows completed in its period, so
monthly files never overlap. Output is byte-reproducible (gzip mtime 0, no file name inside).
"""

from __future__ import annotations

import argparse
import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from connectors.demo import DEFAULT_MASTER
from connectors.demo.plant import DemoPlant

DEFAULT_OUT = DEFAULT_MASTER.parent / "exports"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class FileSpec:
    """One export family: which stream, where, with which headers (canonical field -> header)."""

    system: str
    name: str
    stream: str
    headers: dict[str, str]
    monthly: bool = True
    encoding: str = "utf-8"
    integers: tuple[str, ...] = ()  # canonical fields written without decimals
    keep: Callable[[pd.DataFrame], pd.Series] | None = field(default=None, compare=False)
    constants: dict[str, object] = field(default_factory=dict)  # fields the file leaves out (config constants)

    def path(self, month: date | None = None) -> str:
        suffix = f"_{month:%Y-%m}" if self.monthly and month else ""
        return f"{self.system}/{self.name}{suffix}.csv.gz"

    @property
    def glob(self) -> str:
        return f"{self.system}/{self.name}_*.csv.gz" if self.monthly else self.path()


SPECS = (
    FileSpec("mes", "production", "production_record", {
        "record_id": "记录号", "unit_id": "产线", "product_id": "产品编码", "order_id": "工单号",
        "start_at": "开始时间", "end_at": "结束时间", "produced_qty": "产量", "good_qty": "合格数",
        "scrap_qty": "报废数", "rework_qty": "返工数"},
        integers=("produced_qty", "good_qty", "scrap_qty", "rework_qty")),
    FileSpec("mes", "state", "equipment_state", {
        "unit_id": "产线", "start_at": "开始时间", "end_at": "结束时间", "state": "状态",
        "reason_code": "原因代码"}),
    FileSpec("mes", "planned", "planned_time", {
        "unit_id": "产线", "shift_start_at": "班次开始时间", "shift_code": "班次", "planned_s": "计划时长秒",
        "planned_qty": "计划产量", "planned_scrap_qty": "计划报废数"},
        integers=("planned_s", "planned_qty", "planned_scrap_qty")),
    FileSpec("mes", "labor", "labor_time", {
        "unit_id": "产线", "shift_start_at": "班次开始时间", "worker_h": "直接工时", "attendance_h": "出勤工时"}),
    FileSpec("mes", "quality", "quality_inspection", {
        "lot_id": "检验批号", "unit_id": "产线", "product_id": "产品编码", "inspected_at": "检验时间",
        "stage": "检验阶段", "inspected_qty": "检验数量", "defective_qty": "不良数量", "defect_type": "不良类型"},
        encoding="gbk", integers=("inspected_qty", "defective_qty")),
    FileSpec("mes", "maintenance", "maintenance_event", {
        "event_id": "工单号", "unit_id": "设备编码", "kind": "维修类型", "failure_code": "故障代码",
        "start_at": "开始时间", "end_at": "结束时间", "planned_on": "计划日期"}),
    FileSpec("qms", "measurement", "measurement", {
        "measurement_id": "测量编号", "unit_id": "产线", "product_id": "产品编码", "characteristic": "检验特性",
        "measured_at": "测量时间", "value": "测量值", "lsl": "下限", "usl": "上限", "study_id": "设备能力研究号"}),
    FileSpec("qms", "first_pass", "first_pass_test", {
        "record_id": "记录号", "unit_id": "产线", "product_id": "产品编码", "tested_at": "测试时间",
        "tested_qty": "首次测试数", "first_pass_qty": "一次通过数"}, integers=("tested_qty", "first_pass_qty")),
    FileSpec("mes", "material", "material_consumption", {  # ISO 22400-2 material balance
        "unit_id": "产线", "start_at": "班次开始时间", "material_id": "物料编码", "consumed_kg": "投料量kg",
        "finished_kg": "成品量kg", "integrated_kg": "综合产品量kg", "production_loss_kg": "生产损耗kg",
        "storage_loss_kg": "储运损耗kg", "other_loss_kg": "其他损耗kg"}),
    FileSpec("erp", "output_value", "output_value", {
        "unit_id": "plant", "product_id": "material", "month_on": "period", "quantity": "quantity",
        "value_cny": "amount_cny"}, monthly=False, integers=("quantity",)),
    FileSpec("erp", "operating_cost", "operating_cost", {
        "unit_id": "plant", "category": "cost_category", "month_on": "period", "amount_cny": "amount_cny"},
        monthly=False),
    FileSpec("erp", "headcount", "headcount", {
        "unit_id": "org_unit", "month_on": "period", "avg_employees": "avg_headcount"}, monthly=False),
    FileSpec("erp", "sales_order", "sales_order", {
        "order_id": "order_no", "line_no": "item_no", "product_id": "material", "unit_id": "plant",
        "ordered_on": "order_date", "promised_on": "committed_date", "delivered_on": "delivery_date",
        "quantity": "order_qty", "delivered_qty": "delivered_qty"}, monthly=False,
        integers=("quantity", "delivered_qty")),
    FileSpec("erp", "purchase_order", "purchase_order", {
        "order_id": "po_no", "line_no": "po_item", "supplier_id": "vendor", "item_id": "material", "unit_id": "plant",
        "promised_on": "promised_date", "received_on": "gr_date", "quantity": "order_qty", "received_qty": "gr_qty",
        "accepted_qty": "accepted_qty"}, monthly=False, integers=("quantity", "received_qty", "accepted_qty")),
    FileSpec("wms", "inventory", "inventory_snapshot", {
        "warehouse_id": "仓库", "unit_id": "工厂", "item_id": "物料编码", "snapshot_on": "库存日期",
        "quantity": "库存数量", "value_cny": "库存金额"}, monthly=False, integers=("quantity",)),
    FileSpec("wms", "movements", "stock_movement", {
        "movement_id": "单据号", "warehouse_id": "仓库", "item_id": "物料编码", "moved_at": "过账时间",
        "direction": "方向", "quantity": "数量"}, monthly=False, integers=("quantity",)),
    FileSpec("ems", "electricity", "energy_reading", {
        "meter_id": "meter_no", "start_at": "ts_start", "quantity": "kwh"},
        keep=lambda f: f["interval_s"] == 900, constants={"interval_s": 900}),
    FileSpec("ems", "daily_media", "energy_reading", {
        "meter_id": "meter_no", "start_at": "day_start", "quantity": "reading", "ncv_kj_m3": "ncv_kj_m3"},
        monthly=False, keep=lambda f: f["interval_s"] == 86_400, constants={"interval_s": 86_400}),
    # operations: WMS counts, picks and receipts; CRM complaints; ERP forecast and maintenance cost; EMS green ledger
    FileSpec("wms", "cycle_count", "cycle_count", {
        "count_id": "盘点单号", "warehouse_id": "仓库", "unit_id": "工厂", "item_id": "物料编码", "location_id": "库位",
        "counted_at": "盘点时间", "book_qty": "账面数量", "counted_qty": "实盘数量", "tolerance_pct": "允差百分比"},
        monthly=False, integers=("book_qty", "counted_qty")),
    FileSpec("wms", "picking", "pick_task", {
        "task_id": "拣货任务号", "warehouse_id": "仓库", "unit_id": "工厂", "order_id": "订单号", "line_no": "订单行",
        "item_id": "物料编码", "picked_at": "拣货时间", "requested_qty": "需求数量", "picked_qty": "拣货数量",
        "error_code": "差错类型"}, monthly=False, integers=("requested_qty", "picked_qty")),
    FileSpec("wms", "receipts", "goods_receipt", {
        "receipt_id": "收货单号", "warehouse_id": "仓库", "unit_id": "工厂", "order_id": "采购订单", "line_no": "采购行",
        "item_id": "物料编码", "docked_at": "到货时间", "stocked_at": "上架时间", "quantity": "收货数量"},
        monthly=False, integers=("quantity",)),
    FileSpec("crm", "complaints", "complaint", {
        "complaint_id": "case_no", "unit_id": "plant", "customer_id": "account", "product_id": "product",
        "order_id": "sales_order", "line_no": "order_item", "received_on": "opened_date", "category": "case_type",
        "status": "status", "affected_qty": "affected_qty"}, monthly=False),
    FileSpec("erp", "demand_forecast", "demand_forecast", {
        "unit_id": "plant", "product_id": "material", "month_on": "period", "forecast_qty": "forecast_qty",
        "frozen_on": "frozen_date"}, monthly=False, integers=("forecast_qty",)),
    FileSpec("erp", "maintenance_cost", "maintenance_cost", {
        "posting_id": "document_no", "unit_id": "equipment", "event_id": "work_order", "category": "cost_element_group",
        "posted_on": "posting_date", "amount_cny": "amount_cny"}, monthly=False),
    FileSpec("ems", "green_electricity", "green_electricity", {
        "record_id": "entry_no", "unit_id": "plant", "month_on": "period", "source": "source",
        "quantity_kwh": "kwh", "reference": "reference"}, monthly=False, integers=("quantity_kwh",)),
)


def render(spec: FileSpec, frame: pd.DataFrame, header: bool = True) -> str:
    """CSV text of a generated frame in the file's layout."""
    if spec.keep is not None:
        frame = frame[spec.keep(frame)]
    out = frame[list(spec.headers)].copy()
    for col in spec.integers:
        out[col] = out[col].round().astype("int64")
    out.columns = list(spec.headers.values())
    return out.to_csv(index=False, header=header, lineterminator="\n", date_format=TIME_FORMAT)


def months(start: date, end: date) -> list[date]:
    out, m = [], date(start.year, start.month, 1)
    while m < end:
        out.append(m)
        m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    return out


def files(plant: DemoPlant, start: date, end: date, specs=SPECS) -> Iterator[tuple[str, bytes]]:
    """(relative path, file bytes before gzip) of every export file for [start, end)."""
    frames: dict[tuple[str, date, date], pd.DataFrame] = {}

    def generated(stream: str, a: date, b: date) -> pd.DataFrame:
        key = (stream, a, b)
        if key not in frames:
            frames.clear()  # files come stream by stream: keep one frame at a time
            frames[key] = plant.generate(stream, datetime(a.year, a.month, a.day), datetime(b.year, b.month, b.day))
        return frames[key]

    for spec in specs:
        if spec.monthly:
            bounds = months(start, end)
            for m, nxt in zip(bounds, [*bounds[1:], end]):
                m0 = max(m, start)
                yield spec.path(m), render(spec, generated(spec.stream, m0, nxt)).encode(spec.encoding)
        else:
            yield spec.path(), render(spec, generated(spec.stream, start, end)).encode(spec.encoding)


def write(out: Path, relative: str, data: bytes) -> Path:
    path = out / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    return path


def export(plant: DemoPlant, out: Path, start: date, end: date) -> list[Path]:
    """Replace the export files under `out` with those of [start, end)."""
    for spec in SPECS:
        for old in out.glob(spec.glob):
            old.unlink()
    return [write(out, rel, data) for rel, data in files(plant, start, end)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m connectors.demo.export", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--from", dest="start", type=date.fromisoformat, default=date(2024, 1, 1))
    ap.add_argument("--to", dest="end", type=date.fromisoformat, default=date(2026, 1, 1))
    ap.add_argument("--go-live", type=date.fromisoformat, default=date(2025, 1, 1))
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--master", type=Path, default=DEFAULT_MASTER)
    args = ap.parse_args(argv)
    plant = DemoPlant(args.master, seed=args.seed, go_live=args.go_live)
    written = export(plant, args.out, args.start, args.end)
    size = sum(p.stat().st_size for p in written)
    print(f"wrote {len(written)} files, {size / 1e6:.1f} MB, to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
