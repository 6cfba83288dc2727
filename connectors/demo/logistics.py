"""WMS operations: cycle counts of the stock, pick lines for deliveries and line feeding, and goods receipts.

Counts check the day's book stock of inventory_snapshot; finished-goods picks are the delivered sales
order lines (picked the working day before delivery), raw-material picks feed the lines; receipts are
the received purchase order lines, put away after incoming inspection. Accuracy and speed improve after
go-live (RF scanning, pick-to-light, a shorter inspection queue).
"""

from __future__ import annotations

import numpy as np

from connectors.demo import params as P
from connectors.demo.calendar import DAY_S, EPOCH_ORDINAL, ramp, shift_plan, weekday, ymd_code
from connectors.demo.master import hashed_uniform, normal_from
from connectors.demo.orders import purchase_order, sales_order
from connectors.demo.rows import Rows, empty, strings
from connectors.demo.warehouse import inventory_snapshot, warehouses

TAG_COUNT, TAG_PICK, TAG_RECEIPT = 42, 43, 44


def _seconds(days: np.ndarray, hour: float, spread_h: np.ndarray) -> np.ndarray:
    """Timestamps on `days` from `hour` plus spread_h hours, rounded to the minute."""
    return (days - EPOCH_ORDINAL) * DAY_S + (np.floor((hour + spread_h) * 60) * 60).astype(np.int64)


def cycle_count(plant, days: np.ndarray) -> Rows:
    """A few count lines per warehouse and working day, against the book stock of the day before."""
    working = days[shift_plan(days).any(axis=1)]
    if not len(working):
        return empty("cycle_count")
    stock = inventory_snapshot(plant, np.arange(working[0] - 1, working[-1] + 1, dtype=np.int64)).columns
    book = {(w, i, int(d)): q for w, i, d, q in zip(stock["warehouse_id"], stock["item_id"], stock["snapshot_on"],
                                                      stock["quantity"])}
    lo, hi = P.COUNT_LINES_PER_DAY
    parts = []
    for w, (wid, pid, items) in enumerate(warehouses(plant.master)):
        u = hashed_uniform(plant.seed, TAG_COUNT, wid, working, 1 + hi * 5)
        d, k = np.nonzero(np.arange(hi)[None, :] < (lo + np.floor(u[:, 0] * (hi - lo + 1)))[:, None])
        v = u[:, 1:].reshape(len(working), hi, 5)[d, k]
        day = working[d]
        item = np.minimum((v[:, 0] * len(items)).astype(np.int64), len(items) - 1)
        qty = np.array([book[(wid, items[j][0], int(x) - 1)] for j, x in zip(item, day)])
        tol = P.COUNT_TOLERANCE_PCT[wid.rsplit("-", 1)[1]]
        slack = np.floor(qty * tol / 100)  # largest deviation still inside the tolerance
        ok = v[:, 1] < P.COUNT_ACCURATE.at(ramp(day, plant.go_live, P.RAMP_DAYS))
        off = np.maximum(slack + 1, np.ceil(qty * (0.005 + 0.04 * v[:, 2])))
        delta = np.where(ok, np.floor(slack * v[:, 2]), off) * np.where(v[:, 3] < 0.6, -1, 1)
        at = _seconds(day, 9.0, v[:, 4] * 6)
        n = len(d)
        parts.append(Rows(
            {
                "count_id": strings(f"CC-{wid}-", ymd_code(day), "-", np.char.zfill((k + 1).astype(str), 2)),
                "warehouse_id": np.full(n, wid, dtype=object),
                "unit_id": np.full(n, pid, dtype=object),
                "item_id": np.array([it[0] for it in items], dtype=object)[item],
                "location_id": strings(f"{wid}-B", np.char.zfill((item + 1).astype(str), 2)),
                "counted_at": at,
                "book_qty": qty,
                "counted_qty": np.maximum(qty + delta, 0),
                "tolerance_pct": np.full(n, tol),
            },
            at, w * 100 + k))
    return Rows.concat(parts, "cycle_count")


def _errors(plant, key: str, ints: np.ndarray, days: np.ndarray) -> np.ndarray:
    """An error code or None per pick line."""
    u = hashed_uniform(plant.seed, TAG_PICK, key, ints, 2)
    bad = u[:, 0] < P.PICK_ERROR.at(ramp(days, plant.go_live, P.RAMP_DAYS))
    cum = np.cumsum(P.PICK_ERROR_WEIGHTS)
    code = np.array(P.PICK_ERROR_CODES, dtype=object)[np.minimum(np.searchsorted(cum, u[:, 1] * cum[-1]),
                                                                 len(cum) - 1)]
    return np.where(bad, code, None)


def pick_task(plant, days: np.ndarray) -> Rows:
    """Finished-goods picks of the sales order lines delivered from `days` on; raw-material picks of `days`."""
    master = plant.master
    orders = sales_order(plant, days)
    so = orders.columns
    parts = []
    for p, (wid, pid, items) in enumerate(warehouses(master)):
        if wid.endswith("FG"):
            mine = np.flatnonzero(so["unit_id"] == pid)
            delivered = so["delivered_on"][mine].astype(np.int64)
            day = delivered - 1 - (weekday(delivered - 1) == 6)  # the working day before; Saturday for Monday
            seq = orders.tie[mine]  # unique per sales order line
            u = hashed_uniform(plant.seed, TAG_PICK, wid + ":at", seq, 1)[:, 0]
            at = _seconds(day, 13.0, u * 5)
            ids = strings("PK-", so["order_id"][mine], "-", so["line_no"][mine])
            cols = {"order_id": so["order_id"][mine], "line_no": so["line_no"][mine].astype(np.int64),
                    "item_id": so["product_id"][mine], "requested_qty": so["quantity"][mine],
                    "picked_qty": so["delivered_qty"][mine]}
            errors = _errors(plant, wid, seq, day)
            tie = seq
        else:
            working = days[shift_plan(days).any(axis=1)]
            lo, hi = P.RM_PICKS_PER_DAY
            u = hashed_uniform(plant.seed, TAG_PICK, wid, working, 1 + hi * 3)
            d, k = np.nonzero(np.arange(hi)[None, :] < (lo + np.floor(u[:, 0] * (hi - lo + 1)))[:, None])
            v = u[:, 1:].reshape(len(working), hi, 3)[d, k]
            day = working[d]
            item = np.minimum((v[:, 0] * len(items)).astype(np.int64), len(items) - 1)
            at = _seconds(day, 7.5, v[:, 1] * 14)
            request = strings(f"MR-{pid}-", ymd_code(day), "-", np.char.zfill((k + 1).astype(str), 2))
            qty = 20.0 * (1 + np.floor(v[:, 2] * 10))
            ids = strings("PK-", request)
            cols = {"order_id": request, "line_no": np.ones(len(d), dtype=np.int64),
                    "item_id": np.array([it[0] for it in items], dtype=object)[item], "requested_qty": qty,
                    "picked_qty": qty}
            tie = 10**11 + p * 10**9 + (day - EPOCH_ORDINAL) * 100 + k
            errors = _errors(plant, wid, tie, day)
        n = len(at)
        parts.append(Rows(
            {"task_id": ids, "warehouse_id": np.full(n, wid, dtype=object), "unit_id": np.full(n, pid, dtype=object),
             "order_id": cols["order_id"], "line_no": cols["line_no"], "item_id": cols["item_id"], "picked_at": at,
             "requested_qty": cols["requested_qty"], "picked_qty": cols["picked_qty"], "error_code": errors},
            at, tie))
    return Rows.concat(parts, "pick_task")


def goods_receipt(plant, days: np.ndarray) -> Rows:
    """One receipt per received purchase order line: docked on the receipt day, put away after inspection."""
    lines = purchase_order(plant, days)
    po = lines.columns
    received = po["received_on"].astype(np.int64)
    u = hashed_uniform(plant.seed, TAG_RECEIPT, "dock", lines.tie, 3)
    docked = _seconds(received, 8.5, u[:, 0] * 8)
    hours = P.DOCK_TO_STOCK_H.at(ramp(received, plant.go_live, P.RAMP_DAYS)) * np.exp(
        P.DOCK_TO_STOCK_SIGMA * normal_from(u[:, 1], u[:, 2]))
    stocked = docked + (np.round(hours * 4) * 900).astype(np.int64) + 900
    wid = strings(po["unit_id"], "-RM")
    n = len(received)
    return Rows(
        {"receipt_id": strings("GR-", po["order_id"], "-", po["line_no"]), "warehouse_id": wid,
         "unit_id": po["unit_id"], "order_id": po["order_id"], "line_no": po["line_no"].astype(np.int64),
         "item_id": po["item_id"], "docked_at": docked, "stocked_at": stocked.astype(np.float64),
         "quantity": po["received_qty"]},
        stocked, lines.tie) if n else empty("goods_receipt")


STREAMS = {"cycle_count": cycle_count, "pick_task": pick_task, "goods_receipt": goods_receipt}
