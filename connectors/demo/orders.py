"""ERP order lines: customer orders per plant and weekday, purchase orders for the plant's raw materials.

A line is emitted when it completes (delivered or received, at the end of that day), so a live
caller sees each line once, closed. Everything about a line is a function of (seed, plant, order
day); deliveries and receipts that would fall on a Sunday move to Monday.
"""

from __future__ import annotations

import numpy as np

from connectors.demo import params as P
from connectors.demo.calendar import DAY_S, EPOCH_ORDINAL, ramp, weekday, ymd_code
from connectors.demo.master import hashed_uniform, stable_hash
from connectors.demo.rows import Rows, empty, strings
from connectors.demo.warehouse import warehouses

TAG_SALES, TAG_PURCHASE = 31, 32
LOOKBACK_DAYS = 60  # longer than any lead time plus delay: orders placed this long ago may complete now
MAX_LINES = 3  # lines per sales order
MAX_PO_LINES = P.PURCHASE_LINES_PER_DAY[1]


def _not_sunday(days: np.ndarray) -> np.ndarray:
    return days + (weekday(days) == 6)


def _slots(n_per_day: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(day row, slot) of the first n_per_day[i] of `width` slots of each day."""
    day, slot = np.nonzero(np.arange(width)[None, :] < n_per_day[:, None])
    return day, slot


def sales_order(plant, days: np.ndarray) -> Rows:
    master = plant.master
    k_orders = P.SALES_ORDERS_PER_DAY[1]
    width = k_orders * MAX_LINES
    parts = []
    for p, pid in enumerate(master.plants):
        products = np.array(master.plant_products(pid))
        order_days = days[weekday(days) < 5]
        u = hashed_uniform(plant.seed, TAG_SALES, pid, order_days, 1 + k_orders * 2 + width * 6)
        lo, hi = P.SALES_ORDERS_PER_DAY
        n_orders = lo + np.floor(u[:, 0] * (hi - lo + 1)).astype(np.int64)
        n_lines = 1 + np.floor(u[:, 1:1 + k_orders] * MAX_LINES).astype(np.int64)  # per order
        lead = P.SALES_LEAD_DAYS[0] + np.floor(u[:, 1 + k_orders:1 + 2 * k_orders]
                                                * (P.SALES_LEAD_DAYS[1] - P.SALES_LEAD_DAYS[0] + 1)).astype(np.int64)
        line_u = u[:, 1 + 2 * k_orders:].reshape(len(order_days), width, 6)
        exists = (np.arange(k_orders)[None, :] < n_orders[:, None])[:, :, None] & (
            np.arange(MAX_LINES)[None, None, :] < n_lines[:, :, None])
        d, o, li = np.nonzero(exists)
        v = line_u[d, o * MAX_LINES + li]
        ordered = order_days[d]
        promised = _not_sunday(ordered + lead[d, o])
        r = ramp(ordered, plant.go_live, P.RAMP_DAYS)
        on_time = v[:, 0] < P.SALES_ON_TIME.at(r)
        shift = np.where(on_time, -np.floor(v[:, 1] ** 3 * 4), 1 + np.floor(v[:, 1] ** 2 * 10)).astype(np.int64)
        delivered = _not_sunday(promised + shift)
        quantity = 50.0 * (1 + np.floor(v[:, 2] * 20))
        short = v[:, 3] >= P.SALES_IN_FULL.at(r)
        delivered_qty = np.where(short, np.floor(quantity * (0.8 + 0.18 * v[:, 4])), quantity)
        product = products[np.minimum((v[:, 5] * len(products)).astype(np.int64), len(products) - 1)]
        n = len(d)
        parts.append(Rows(
            {
                "order_id": strings(f"SO-{pid}-", ymd_code(ordered), "-", np.char.zfill((o + 1).astype(str), 2)),
                "line_no": (li + 1).astype(np.int64),
                "product_id": master.product_ids[product],
                "unit_id": np.full(n, pid, dtype=object),
                "ordered_on": ordered,
                "promised_on": promised,
                "delivered_on": delivered,
                "quantity": quantity,
                "delivered_qty": delivered_qty,
            },
            (delivered + 1 - EPOCH_ORDINAL) * DAY_S,
            p * 10**9 + (ordered - EPOCH_ORDINAL) * 100 + o * MAX_LINES + li))
    return Rows.concat(parts, "sales_order") if parts else empty("sales_order")


def _supplier(item: str) -> str:
    return f"SUP-{stable_hash(item) % P.SUPPLIERS + 1:02d}"


def purchase_order(plant, days: np.ndarray) -> Rows:
    parts = []
    raw = [w for w in warehouses(plant.master) if w[0].endswith("RM")]
    for p, (_wid, pid, items) in enumerate(raw):
        item_ids = np.array([it[0] for it in items], dtype=object)
        suppliers = np.array([_supplier(it) for it in item_ids], dtype=object)
        # suppliers differ in quality: a fixed factor each on the share of lots with rejects
        quality = np.array([0.5 + hashed_uniform(plant.seed, TAG_PURCHASE, s, np.zeros(1), 1)[0, 0] * 1.5
                            for s in suppliers])
        order_days = days[weekday(days) < 5]
        u = hashed_uniform(plant.seed, TAG_PURCHASE, pid, order_days, 1 + MAX_PO_LINES * 9)
        lo, hi = P.PURCHASE_LINES_PER_DAY
        n_lines = lo + np.floor(u[:, 0] * (hi - lo + 1)).astype(np.int64)
        d, li = _slots(n_lines, MAX_PO_LINES)
        v = u[:, 1:].reshape(len(order_days), MAX_PO_LINES, 9)[d, li]
        ordered = order_days[d]
        r = ramp(ordered, plant.go_live, P.RAMP_DAYS)
        item = np.minimum((v[:, 0] * len(item_ids)).astype(np.int64), len(item_ids) - 1)
        promised = _not_sunday(ordered + 5 + np.floor(v[:, 1] * 11).astype(np.int64))
        on_time = v[:, 2] < P.PURCHASE_ON_TIME.at(r)
        shift = np.where(on_time, -np.floor(v[:, 3] ** 3 * 3), 1 + np.floor(v[:, 3] ** 2 * 7)).astype(np.int64)
        received = _not_sunday(promised + shift)
        quantity = 100.0 * (1 + np.floor(v[:, 4] * 30))
        received_qty = np.where(v[:, 5] < P.PURCHASE_SHORT, np.floor(quantity * (0.9 + 0.09 * v[:, 6])), quantity)
        reject_lot = v[:, 8] < P.INCOMING_REJECT_LOTS.at(r) * quality[item]
        rejected = np.where(reject_lot, np.ceil(received_qty * (0.02 + 0.18 * v[:, 7])), 0.0)
        n = len(d)
        parts.append(Rows(
            {
                "order_id": strings(f"PO-{pid}-", ymd_code(ordered)),
                "line_no": (li + 1).astype(np.int64),
                "supplier_id": suppliers[item],
                "item_id": item_ids[item],
                "unit_id": np.full(n, pid, dtype=object),
                "promised_on": promised,
                "received_on": received,
                "quantity": quantity,
                "received_qty": received_qty,
                "accepted_qty": received_qty - rejected,
            },
            (received + 1 - EPOCH_ORDINAL) * DAY_S,
            p * 10**9 + (ordered - EPOCH_ORDINAL) * 100 + li))
    return Rows.concat(parts, "purchase_order") if parts else empty("purchase_order")


STREAMS = {"sales_order": sales_order, "purchase_order": purchase_order}
