"""MES material balance per line and shift (ISO 22400-2 KPIs 25-29), in kg, from the simulated output.

A line issues one blank per part started (RM-<FAMILY>-1 of the warehouse, BLANK_KG_PER_CNY x list price).
Machining turns CHIP_SHARE of every blank into chips; scrapped parts are lost too; good and reworked parts
are the products (finished = first-time good, integrated = good + reworked). Blanks damaged in storage and
transport and count differences come on top of the issue, so CM = IGQ + PL + STL + OL on every row.
"""

from __future__ import annotations

import numpy as np

from connectors.demo import params as P
from connectors.demo.calendar import SHIFT_S
from connectors.demo.master import hashed_uniform
from connectors.demo.mes import Blocks, _unit
from connectors.demo.rows import Rows

TAG_MATERIAL = 41


def material_consumption(plant, blocks: Blocks) -> Rows:
    master = plant.master
    family = master.product["family"].str.upper().to_numpy(object)
    parts = []
    for i, line, b in blocks:
        sel = np.flatnonzero(b.sh_produced > 0)
        if not len(sel):
            continue
        x, r = b.sh_product[sel], b.sh_ramp[sel]
        blank = P.BLANK_KG_PER_CNY * master.price[x]
        net = blank * (1.0 - P.CHIP_SHARE.at(r))
        pq, sq, rq = b.sh_produced[sel], b.sh_scrap[sel], b.sh_rework[sel]
        gq = pq - sq - rq
        u = hashed_uniform(plant.seed, TAG_MATERIAL, line.unit_id, b.sh_start[sel], 2)
        issued = pq * blank
        finished = np.round(gq * net, 1)
        integrated = np.round((gq + rq) * net, 1)
        production_loss = np.round(issued - (gq + rq) * net, 1)  # chips of every part started + scrapped parts
        storage = np.round(issued * P.STORAGE_LOSS_SHARE.at(r) * (0.5 + u[:, 0]), 1)
        other = np.round(issued * P.OTHER_LOSS_SHARE.at(r) * (0.5 + u[:, 1]), 1)
        n, done = len(sel), b.sh_start[sel] + SHIFT_S
        parts.append(Rows(
            {
                "unit_id": _unit(line, n),
                "start_at": b.sh_start[sel],
                "material_id": np.array([f"RM-{f}-1" for f in family[x]], dtype=object),
                "consumed_kg": np.round(integrated + production_loss + storage + other, 1),
                "finished_kg": finished,
                "integrated_kg": integrated,
                "production_loss_kg": production_loss,
                "storage_loss_kg": storage,
                "other_loss_kg": other,
            },
            done, np.full(n, i, dtype=np.int64)))
    return Rows.concat(parts, "material_consumption")


STREAMS = {"material_consumption": material_consumption}
