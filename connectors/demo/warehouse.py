"""WMS: end-of-day stock and goods movements for a raw-material and a finished-goods warehouse per plant.

Stock is days of cover times the nominal daily flow of the item, with slow waves per item (pure
functions of the day, so no running balance is needed); cover shrinks after go-live.
"""

from __future__ import annotations

import numpy as np

from connectors.demo import params as P
from connectors.demo.calendar import DAY_S, EPOCH_ORDINAL, ramp, shift_plan, ymd_code
from connectors.demo.master import rng
from connectors.demo.rows import Rows, empty, strings
from connectors.demo.schedule import mix_weights

TAG_WAVE, TAG_MOVE = 6, 7
FG_COST_SHARE = 0.72  # finished goods at standard cost
SHIFTS_PER_DAY = 17 / 7


def warehouses(master) -> list[tuple[str, str, list[tuple[str, float, dict[int, float]]]]]:
    """(warehouse_id, plant_id, items); an item is (item_id, unit value, {product index: use per unit})."""
    out = []
    for pid in master.plants:
        products = master.plant_products(pid)
        fg = [(str(master.product_ids[x]), FG_COST_SHARE * float(master.price[x]), {x: 1.0}) for x in products]
        rm = []
        families = list(dict.fromkeys(master.product["family"].iloc[products]))
        for fam in families:
            members = [x for x in products if master.product["family"].iloc[x] == fam]
            mean_price = float(np.mean(master.price[members]))
            for k, (use, share) in enumerate(P.RM_ITEMS):
                value = share * mean_price if share is not None else P.RM_FIXED_COST[k]
                rm.append((f"RM-{fam.upper()}-{k + 1}", value, {x: use for x in members}))
        out += [(f"{pid}-RM", pid, rm), (f"{pid}-FG", pid, fg)]
    return out


def _nominal(plant, pid: str, days: np.ndarray) -> np.ndarray:
    """Expected daily output (n_days, n_products) of a plant, from line capacity and product mix."""
    master = plant.master
    out = np.zeros((len(days), len(master.product)))
    years = (days - plant.go_live.toordinal()) / 365.25
    for line in master.lines:
        if line.plant_id != pid:
            continue
        idx = np.array(line.products)
        shares = np.stack([mix_weights(len(idx), y) for y in years])
        out[:, idx] += shares * SHIFTS_PER_DAY * P.PBT_S * 0.65 / master.cycle_s[idx]
    return out


def _wave(seed: int, key: str, days: np.ndarray) -> np.ndarray:
    u = rng(seed, TAG_WAVE, key, 0).random(6)
    t = days.astype(float)
    return sum(0.08 * np.sin(2 * np.pi * t / period + 2 * np.pi * u[j])
               for j, period in enumerate((17.0, 41.0, 97.0)))


def inventory_snapshot(plant, days: np.ndarray) -> Rows:
    """Stock at the end of each calendar day; complete at 00:00 of the next day."""
    master = plant.master
    r = ramp(days, plant.go_live, P.RAMP_DAYS)
    cols = {k: [] for k in ("warehouse_id", "unit_id", "item_id", "snapshot_on", "quantity", "value_cny")}
    ties = []
    for w, (wid, pid, items) in enumerate(warehouses(master)):
        nominal = _nominal(plant, pid, days)
        cover = (P.RM_COVER_DAYS if wid.endswith("RM") else P.FG_COVER_DAYS).at(r)
        for j, (item, unit_value, uses) in enumerate(items):
            flow = sum(use * nominal[:, x] for x, use in uses.items())
            qty = np.round(flow * cover * (1 + _wave(plant.seed, wid + item, days)))
            cols["warehouse_id"].append(np.full(len(days), wid, dtype=object))
            cols["unit_id"].append(np.full(len(days), pid, dtype=object))
            cols["item_id"].append(np.full(len(days), item, dtype=object))
            cols["snapshot_on"].append(days)
            cols["quantity"].append(qty)
            cols["value_cny"].append(np.round(qty * unit_value, 2))
            ties.append(np.full(len(days), w * 1000 + j, dtype=np.int64))
    out = {k: np.concatenate(v) for k, v in cols.items()}
    done = (out["snapshot_on"] + 1 - EPOCH_ORDINAL) * DAY_S
    return Rows(out, done, np.concatenate(ties))


def stock_movement(plant, days: np.ndarray) -> Rows:
    """A few receipts and issues per warehouse and day, fewer on days without production."""
    master = plant.master
    working = shift_plan(days).any(axis=1)
    cols = {k: [] for k in ("movement_id", "warehouse_id", "item_id", "moved_at", "direction", "quantity")}
    ties = []
    for w, (wid, pid, items) in enumerate(warehouses(master)):
        nominal = _nominal(plant, pid, days)
        p_in = 0.35 if wid.endswith("RM") else 0.5
        for i, d in enumerate(days):
            u = rng(plant.seed, TAG_MOVE, wid, int(d)).random((7, 4))
            n = int(2 + 5 * u[0, 0]) if working[i] else int(2 * u[0, 0])
            if n == 0:
                continue
            u = u[1:n + 1]
            pick = np.minimum((u[:, 0] * len(items)).astype(int), len(items) - 1)
            flows = np.array([sum(use * nominal[i, x] for x, use in items[j][2].items()) for j in pick])
            at = (int(d) - EPOCH_ORDINAL) * DAY_S + 7 * 3600 + np.floor(u[:, 1] * 14 * 3600).astype(np.int64)
            order = np.argsort(at, kind="stable")
            cols["movement_id"].append(strings(f"MV-{wid}-{ymd_code(np.array([d]))[0]}-",
                                               np.char.zfill(np.arange(1, n + 1).astype(str), 2)))
            cols["warehouse_id"].append(np.full(n, wid, dtype=object))
            cols["item_id"].append(np.array([items[j][0] for j in pick], dtype=object)[order])
            cols["moved_at"].append(at[order])
            cols["direction"].append(np.where(u[:, 2] < p_in, "in", "out").astype(object)[order])
            cols["quantity"].append(np.maximum(1.0, np.round(flows * (0.3 + 0.9 * u[:, 3])))[order])
            ties.append(np.full(n, w * 100, dtype=np.int64) + np.arange(n))
    if not ties:
        return empty("stock_movement")
    out = {k: np.concatenate(v) for k, v in cols.items()}
    return Rows(out, out["moved_at"], np.concatenate(ties))


STREAMS = {"inventory_snapshot": inventory_snapshot, "stock_movement": stock_movement}
