"""Customer side: complaints about delivered sales order lines (CRM) and the frozen monthly sales forecast (ERP).

A delivered line draws a complaint with a small chance (more when it was late), received days to weeks
later; some are found unfounded. The forecast of a month is the quantity the plant will ship, off
by a log-normal error that shrinks after go-live, frozen on the 20th of the month before; the plant
measures it against the quantity delivered in the month.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from connectors.demo import params as P
from connectors.demo.calendar import DAY_S, EPOCH_ORDINAL, days_between, month_index, month_start, ramp
from connectors.demo.master import hashed_uniform, normal_from, stable_hash
from connectors.demo.orders import LOOKBACK_DAYS, sales_order
from connectors.demo.rows import Rows, empty, strings

TAG_COMPLAINT, TAG_FORECAST = 45, 46
CATEGORIES = ("quality", "delivery", "service", "other")
CATEGORY_WEIGHTS = (0.55, 0.25, 0.12, 0.08)


def complaint(plant, days: np.ndarray) -> Rows:
    """Complaints about the lines ordered on `days`, each emitted at the end of the day it is received."""
    lines = sales_order(plant, days)
    so = lines.columns
    delivered = so["delivered_on"].astype(np.int64)
    late = delivered > so["promised_on"].astype(np.int64)
    u = hashed_uniform(plant.seed, TAG_COMPLAINT, "line", lines.tie, 5)
    chance = P.COMPLAINT_PER_LINE.at(ramp(delivered, plant.go_live, P.RAMP_DAYS)) * np.where(
        late, P.COMPLAINT_LATE_FACTOR, 1.0)
    hit = np.flatnonzero(u[:, 0] < chance)
    if not len(hit):
        return empty("complaint")
    v = u[hit]
    lo, hi = P.COMPLAINT_DELAY_DAYS
    received = delivered[hit] + lo + np.floor(v[:, 1] * (hi - lo + 1)).astype(np.int64)
    cum = np.cumsum(CATEGORY_WEIGHTS)
    category = np.array(CATEGORIES, dtype=object)[np.minimum(np.searchsorted(cum, v[:, 2] * cum[-1]), len(cum) - 1)]
    category = np.where(late[hit] & (v[:, 2] < 0.5), "delivery", category)  # late lines mostly complain of lateness
    quantity = so["delivered_qty"][hit]
    affected = np.where(category == "quality", np.ceil(quantity * 0.1 * v[:, 4]), np.nan)
    return Rows(
        {
            "complaint_id": strings("CP-", so["order_id"][hit], "-", so["line_no"][hit]),
            "unit_id": so["unit_id"][hit],
            "customer_id": np.array([f"CUST-{stable_hash(o) % P.CUSTOMERS + 1:02d}" for o in so["order_id"][hit]],
                                    dtype=object),
            "product_id": so["product_id"][hit],
            "order_id": so["order_id"][hit],
            "line_no": so["line_no"][hit].astype(np.int64),
            "received_on": received,
            "category": category.astype(object),
            "status": np.where(v[:, 3] < P.COMPLAINT_REJECTED, "rejected", "closed").astype(object),
            "affected_qty": affected,
        },
        (received + 1 - EPOCH_ORDINAL) * DAY_S, lines.tie[hit])


def demand_forecast(plant, months: np.ndarray) -> Rows:
    """The frozen forecast of each month in `months`, per plant and product (complete at the end of the
    freezing day)."""
    master = plant.master
    parts = []
    for m in months:
        first, nxt = month_start(int(m)), month_start(int(m) + 1)
        so = sales_order(plant, days_between(first - timedelta(days=LOOKBACK_DAYS), nxt - timedelta(days=1))).columns
        shipped = (so["delivered_on"] >= first.toordinal()) & (so["delivered_on"] < nxt.toordinal())
        frozen = month_start(int(m) - 1).toordinal() + P.FORECAST_FROZEN_DAY - 1
        r = ramp(np.array([frozen]), plant.go_live, P.RAMP_DAYS)[0]
        for p, pid in enumerate(master.plants):
            products = np.array(master.plant_products(pid))
            mine = shipped & (so["unit_id"] == pid)
            actual = np.array([so["delivered_qty"][mine & (so["product_id"] == master.product_ids[x])].sum()
                               for x in products])
            u = hashed_uniform(plant.seed, TAG_FORECAST, pid, np.array([int(m)]), 2 * len(products) + 1)[0]
            z = normal_from(u[:len(products)], u[len(products):2 * len(products)])
            typical = max(actual.mean(), 100.0)
            base = np.where(actual > 0, actual, typical * 0.3)
            forecast = np.round(base * np.exp(P.FORECAST_BIAS.at(r) + P.FORECAST_SD.at(r) * z) / 10) * 10
            n = len(products)
            parts.append(Rows(
                {
                    "unit_id": np.full(n, pid, dtype=object),
                    "product_id": master.product_ids[products],
                    "month_on": np.full(n, first.toordinal(), dtype=np.int64),
                    "forecast_qty": forecast,
                    "frozen_on": np.full(n, frozen, dtype=np.int64),
                },
                np.full(n, (frozen + 1 - EPOCH_ORDINAL) * DAY_S, dtype=np.int64),
                p * 1000 + products.astype(np.int64)))
    return Rows.concat(parts, "demand_forecast")


def forecast_months(first_day: int, last_day: int) -> np.ndarray:
    """Months whose forecast is frozen between two days (frozen in the month before)."""
    return np.arange(int(month_index(np.array([first_day]))[0]), int(month_index(np.array([last_day]))[0]) + 2)


STREAMS = {"complaint": complaint, "demand_forecast": demand_forecast}
