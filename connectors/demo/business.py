"""ERP month-end figures per plant: output value per product, operating cost per category, headcount.

Output quantities are the plant's good output of the calendar month (by record start), so ERP and
MES agree; costs are variable (material, energy) plus people plus fixed overhead, so cost per unit
falls when output per hour and yield rise and crews shrink.
"""

from __future__ import annotations

import numpy as np

from connectors.demo import params as P
from connectors.demo.calendar import day_start_s, month_index, month_start, ramp
from connectors.demo.master import rng
from connectors.demo.rows import Rows, ordinal_of_seconds

TAG_ERP = 5
CATEGORIES = ("cost_of_sales", "selling", "admin", "rnd")


def _done(months: np.ndarray) -> np.ndarray:
    """A month is complete at 00:00 on the first day of the next month."""
    nxt = np.array([month_start(int(m) + 1).toordinal() for m in months])
    return day_start_s(nxt) - 8 * 3600


def _month_on(months: np.ndarray) -> np.ndarray:
    return np.array([month_start(int(m)).toordinal() for m in months], dtype=np.int64)


def _mid_ramp(plant, months: np.ndarray) -> np.ndarray:
    return ramp(_month_on(months) + 14, plant.go_live, P.RAMP_DAYS)


def _people(plant, months: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(direct, indirect, ramp) per (month, plant): crews shrink and overhead staff thins after go-live."""
    master = plant.master
    r = _mid_ramp(plant, months)[:, None]
    crews = np.array([sum(P.CREW_PER_EQUIPMENT * x.n_equipment for x in master.lines if x.plant_id == pid)
                      for pid in master.plants])
    n_ws = np.array([sum(1 for w in master.workshops if master.plant_of[w] == pid) for pid in master.plants])
    direct = crews * P.CREW_FACTOR.at(r) * P.CREWS_PER_LINE
    return direct, P.INDIRECT_PER_WORKSHOP.at(r) * n_ws + P.INDIRECT_PER_PLANT.at(r), r


class Month:
    """Production, prices and people of each (month, plant), computed once per request."""

    def __init__(self, plant, months: np.ndarray):
        master = plant.master
        self.months = months
        n_m, n_p, n_x = len(months), len(master.plants), len(master.product)
        self.good = np.zeros((n_m, n_p, n_x))
        self.produced = np.zeros((n_m, n_p, n_x))
        first = month_start(int(months[0])).toordinal() - 1
        last = month_start(int(months[-1]) + 1).toordinal() - 1
        for _, line, b in plant.line_blocks(first, last):
            k = month_index(ordinal_of_seconds(b.hr_start)) - months[0]
            ok = (k >= 0) & (k < n_m)
            p = master.plants.index(line.plant_id)
            np.add.at(self.good, (k[ok], p, b.hr_product[ok]),
                      (b.hr_produced - b.hr_scrap - b.hr_rework)[ok])
            np.add.at(self.produced, (k[ok], p, b.hr_product[ok]), b.hr_produced[ok])
        self.z = np.stack([
            np.stack([rng(plant.seed, TAG_ERP, pid, int(m)).standard_normal(n_x + 8) for pid in master.plants])
            for m in months])  # (n_m, n_p, n_x + 8)
        self.value = np.round(self.good * master.price * (1 + P.PRICE_SD * self.z[:, :, :n_x]), 2)
        self.direct, self.indirect, self.r = _people(plant, months)
        self.n_lines = np.array([sum(1 for x in master.lines if x.plant_id == pid) for pid in master.plants])


def output_value(plant, months: np.ndarray) -> Rows:
    mo = Month(plant, months)
    master = plant.master
    k, p, x = np.nonzero(mo.good > 0)
    return Rows(
        {
            "unit_id": np.array(master.plants, dtype=object)[p],
            "product_id": master.product_ids[x],
            "month_on": _month_on(months)[k],
            "quantity": mo.good[k, p, x],
            "value_cny": mo.value[k, p, x],
        },
        _done(months)[k], p * 1000 + x)


def operating_cost(plant, months: np.ndarray) -> Rows:
    mo = Month(plant, months)
    price = plant.master.price
    cycle = plant.master.cycle_s
    value = mo.value.sum(2)
    material = (mo.produced * price).sum(2) * P.MATERIAL_RATIO.at(mo.r)
    energy = (mo.produced * cycle).sum(2) / 3600 * P.ENERGY_CNY_PER_STD_H.at(mo.r)
    amounts = np.stack([
        material + energy + mo.direct * P.WAGE_DIRECT_CNY + mo.n_lines * P.OVERHEAD_PER_LINE_CNY,
        P.SELLING[0] * value + P.SELLING[1],
        mo.indirect * P.WAGE_INDIRECT_CNY + P.ADMIN_FIXED_CNY,
        P.RND[0] * value + P.RND[1],
    ], axis=-1)  # (n_m, n_p, 4)
    n_x = len(price)
    amounts = np.round(amounts * (1 + 0.015 * mo.z[:, :, n_x:n_x + 4]), 2)
    k, p, c = np.indices(amounts.shape).reshape(3, -1)
    return Rows(
        {
            "unit_id": np.array(plant.master.plants, dtype=object)[p],
            "category": np.array(CATEGORIES, dtype=object)[c],
            "month_on": _month_on(months)[k],
            "amount_cny": amounts.ravel(),
        },
        _done(months)[k], p * 10 + c)


def headcount(plant, months: np.ndarray) -> Rows:
    master = plant.master
    direct, indirect, _ = _people(plant, months)
    z = np.array([[rng(plant.seed, TAG_ERP, pid, int(m)).standard_normal(len(master.product) + 8)[-1]
                   for pid in master.plants] for m in months])
    heads = np.round((direct + indirect) * (1 + 0.01 * z), 1)
    k, p = np.indices(heads.shape).reshape(2, -1)
    return Rows(
        {"unit_id": np.array(master.plants, dtype=object)[p], "month_on": _month_on(months)[k],
         "avg_employees": heads.ravel()},
        _done(months)[k], p.astype(np.int64))


STREAMS = {"output_value": output_value, "operating_cost": operating_cost, "headcount": headcount}
