"""ERP maintenance cost and the EMS green electricity ledger of the demo plant.

Maintenance cost settles each done work order of maintenance_event on the day it ended: two
technicians' hours, spare parts (log-normal), now and then a vendor's service call; fewer breakdowns
after go-live make it fall while output value rises. Green electricity: a small canteen-roof PV on
each plant, the workshop roofs added a few months after go-live, a green power contract and cancelled
green certificates later still (Chongqing sun: dull winters, bright July and August).
"""

from __future__ import annotations

import numpy as np

from connectors.demo import params as P
from connectors.demo.calendar import DAY_S, EPOCH_ORDINAL, month_index, month_start
from connectors.demo.master import hashed_uniform, normal_from
from connectors.demo.rows import Rows, empty, ordinal_of_seconds, strings

TAG_COST, TAG_GREEN = 47, 48
_COST_COLUMNS = ("posting_id", "unit_id", "event_id", "category", "posted_on", "amount_cny")


def maintenance_cost(plant, events: Rows) -> Rows:
    """Postings of the work orders in `events` (maintenance_event rows) that were done."""
    ev = events.columns
    done = np.flatnonzero(~np.isnan(ev["end_at"].astype(np.float64)))
    if not len(done):
        return empty("maintenance_cost")
    start, end = ev["start_at"][done].astype(np.int64), ev["end_at"][done].astype(np.int64)
    kind = ev["kind"][done]
    posted = ordinal_of_seconds(end)
    u = hashed_uniform(plant.seed, TAG_COST, "order", events.tie[done] * 10**10 + end, 5)
    corrective = kind == "corrective"
    labour = np.round((end - start) / 3600 * 2 * P.MAINTENANCE_RATE_CNY_H, 2)
    median = np.where(corrective, P.SPARE_PARTS_MEDIAN_CNY["corrective"], P.SPARE_PARTS_MEDIAN_CNY["preventive"])
    sigma = np.where(corrective, P.SPARE_PARTS_SIGMA["corrective"], P.SPARE_PARTS_SIGMA["preventive"])
    parts_cny = np.round(median * np.exp(sigma * normal_from(u[:, 0], u[:, 1])), 2)
    share, lo, hi = P.EXTERNAL_SERVICE
    vendor = corrective & (u[:, 2] < share)
    service = np.round(lo + (hi - lo) * u[:, 3], -2)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in _COST_COLUMNS}
    dones, ties = [], []
    for j, (suffix, category, amount, keep) in enumerate((
            ("L", "labour", labour, np.ones(len(done), dtype=bool)),
            ("P", "spare_parts", parts_cny, np.ones(len(done), dtype=bool)),
            ("X", "external_service", service, vendor))):
        k = np.flatnonzero(keep)
        cols["posting_id"].append(strings("MC-", ev["event_id"][done][k], f"-{suffix}"))
        cols["unit_id"].append(ev["unit_id"][done][k])
        cols["event_id"].append(ev["event_id"][done][k])
        cols["category"].append(np.full(len(k), category, dtype=object))
        cols["posted_on"].append(posted[k])
        cols["amount_cny"].append(amount[k])
        dones.append((posted[k] + 1 - EPOCH_ORDINAL) * DAY_S)  # posted by the evening run of the ERP
        ties.append(end[k] % DAY_S * 10**4 + events.tie[done][k] * 3 + j)  # one order ends once per second
    return Rows({k: np.concatenate(v) for k, v in cols.items()}, np.concatenate(dones), np.concatenate(ties))


def _pv_kwh(plant, pid: str, p: int, months: np.ndarray) -> np.ndarray:
    """Self-consumed PV of a plant per month (the plant's load always exceeds it, so nothing is exported)."""
    go = int(month_index(np.array([plant.go_live.toordinal()]))[0])
    added = go + P.PV_ADDED_MONTHS_AFTER_GO_LIVE[min(p, len(P.PV_ADDED_MONTHS_AFTER_GO_LIVE) - 1)]
    kwp = P.PV_KWP["before"] + P.PV_KWP["added"] * (months >= added)
    sun = np.array(P.PV_SUN_H)[months % 12]
    n_days = np.array([(month_start(int(m) + 1) - month_start(int(m))).days for m in months])
    u = hashed_uniform(plant.seed, TAG_GREEN, pid, months, 2)
    weather = np.exp(0.12 * normal_from(u[:, 0], u[:, 1]))
    return np.round(kwp * sun * n_days * P.PV_PERFORMANCE_RATIO * weather)


def green_electricity(plant, months: np.ndarray) -> Rows:
    """Ledger rows of each plant and month (complete on the first day of the next month)."""
    go = int(month_index(np.array([plant.go_live.toordinal()]))[0])
    parts = []
    for p, pid in enumerate(plant.master.plants):
        entries = [("onsite_pv", "PV", _pv_kwh(plant, pid, p, months), np.ones(len(months), dtype=bool), None),
                   ("green_contract", "GC", np.full(len(months), P.GREEN_CONTRACT_MWH * 1000), months >= go + 6,
                    f"CQ-GP-{pid}"),
                   ("green_certificate", "GEC", np.full(len(months), P.GREEN_CERTIFICATES * 1000.0),
                    months >= go + 9, f"GEC {P.GREEN_CERTIFICATES} certificates")]
        for j, (source, code, kwh, keep, reference) in enumerate(entries):
            m = months[keep]
            n = len(m)
            if not n:
                continue
            month_on = np.array([month_start(int(x)).toordinal() for x in m], dtype=np.int64)
            parts.append(Rows(
                {
                    "record_id": strings(f"GE-{pid}-", (m // 12) * 100 + m % 12 + 1, f"-{code}"),
                    "unit_id": np.full(n, pid, dtype=object),
                    "month_on": month_on,
                    "source": np.full(n, source, dtype=object),
                    "quantity_kwh": kwh[keep],
                    "reference": np.full(n, reference, dtype=object),
                },
                np.array([(month_start(int(x) + 1).toordinal() - EPOCH_ORDINAL) * DAY_S for x in m], dtype=np.int64),
                np.full(n, p * 10 + j, dtype=np.int64)))
    return Rows.concat(parts, "green_electricity")
