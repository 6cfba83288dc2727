"""Master data of the demo plant, read from CSV: the generator knows no unit, product or meter by name.

The only rule linking the files: workshops (in plant and sort order) make the product families in
the order they first appear in product.csv, cycling when there are more workshops than families.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from connectors.schema import STREAMS

MASTER_STREAMS = ("org_unit", "product", "meter")


def stable_hash(text: str) -> int:
    """A hash that is the same in every process (Python's hash() is salted per run)."""
    return zlib.crc32(text.encode("utf-8"))


def rng(seed: int, tag: int, key: str, ordinal: int) -> np.random.Generator:
    """The random stream of one (seed, purpose, unit, day or week or month)."""
    return np.random.default_rng([seed, tag, stable_hash(key), int(ordinal)])


_M1, _M2, _GOLDEN = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijective scramble of 64-bit integers (wrapping arithmetic on purpose)."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def hashed_uniform(seed: int, tag: int, key: str, ints: np.ndarray, k: int) -> np.ndarray:
    """(len(ints), k) uniforms in [0, 1) that depend only on (seed, purpose, unit, each integer).

    For events whose count varies (failures, order lines): an event keyed by its own time or day
    draws the same numbers whatever window asks for it, without a generator object per event.
    """
    with np.errstate(over="ignore"):
        base = _mix(np.uint64(stable_hash(f"{seed}:{tag}:{key}")) + _GOLDEN)
        x = _mix(base ^ (np.asarray(ints, dtype=np.int64).astype(np.uint64) * _GOLDEN))
        h = _mix(x[:, None] + (np.arange(1, k + 1, dtype=np.uint64) * _GOLDEN)[None, :])
    return (h >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def normal_from(u1: np.ndarray, u2: np.ndarray) -> np.ndarray:
    """Standard normals from two uniforms (Box-Muller)."""
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def unit_factor(seed: int, key: str, spread: float) -> float:
    """A fixed per-unit multiplier in [1 - spread, 1 + spread]: lines differ, stably per seed."""
    u = np.random.default_rng([seed, 99, stable_hash(key)]).random()
    return 1.0 + spread * (2.0 * u - 1.0)


def typed(frame: pd.DataFrame, stream: str) -> pd.DataFrame:
    """Cast a frame to the canonical column types of `stream`, columns in canonical order."""
    out = {}
    for col in STREAMS[stream].columns:
        if col.name not in frame and not col.required:  # an optional column the file leaves out
            s = pd.Series([""] * len(frame), index=frame.index, dtype=object)
        else:
            s = frame[col.name]
        if col.type == "DOUBLE":
            out[col.name] = pd.to_numeric(s.replace("", None)).astype("float64")
        elif col.type == "INTEGER":
            out[col.name] = pd.to_numeric(s).astype("int64")
        else:
            out[col.name] = s.where(s.notna() & (s.astype(str) != ""), None).astype("str")
    return pd.DataFrame(out)


@dataclass(frozen=True)
class Line:
    unit_id: str
    workshop_id: str
    plant_id: str
    n_equipment: int
    products: tuple[int, ...]  # row indices into Master.product
    equipment: tuple[str, ...] = ()  # equipment unit ids, in sort order


@dataclass(frozen=True)
class Master:
    org_unit: pd.DataFrame
    product: pd.DataFrame
    meter: pd.DataFrame
    plants: tuple[str, ...]
    workshops: dict[str, tuple[str, ...]]  # workshop -> its lines
    plant_of: dict[str, str]  # workshop or line -> plant
    lines: tuple[Line, ...]
    characteristic: pd.DataFrame  # product_id, characteristic, lsl, usl: the measured key characteristic

    @property
    def cycle_s(self) -> np.ndarray:
        return self.product["ideal_cycle_s"].to_numpy(float)

    @property
    def price(self) -> np.ndarray:
        return self.product["unit_price_cny"].to_numpy(float)

    @property
    def product_ids(self) -> np.ndarray:
        return self.product["product_id"].to_numpy(object)

    def line(self, unit_id: str) -> Line:
        return next(x for x in self.lines if x.unit_id == unit_id)

    def plant_products(self, plant_id: str) -> list[int]:
        return sorted({p for x in self.lines if x.plant_id == plant_id for p in x.products})


def _children(org: pd.DataFrame, parent: str, level: str) -> list[str]:
    rows = org[(org["parent_id"] == parent) & (org["level"] == level)]
    return rows.sort_values(["sort_order", "unit_id"])["unit_id"].tolist()


def load_master(master_dir: Path) -> Master:
    """Read org_unit.csv, product.csv and meter.csv and derive the line structure."""
    master_dir = Path(master_dir)
    frames = {
        name: typed(pd.read_csv(master_dir / f"{name}.csv", dtype=str, keep_default_na=False), name)
        for name in MASTER_STREAMS
    }
    org, product, meter = frames["org_unit"], frames["product"], frames["meter"]
    families = list(dict.fromkeys(product["family"]))
    if not families:
        raise ValueError(f"{master_dir}/product.csv lists no products")
    plants = tuple(org[org["level"] == "plant"].sort_values(["sort_order", "unit_id"])["unit_id"])
    workshops: dict[str, tuple[str, ...]] = {}
    plant_of: dict[str, str] = {}
    lines: list[Line] = []
    k = 0
    for plant in plants:
        for ws in _children(org, plant, "workshop"):
            family = families[k % len(families)]
            k += 1
            products = tuple(int(i) for i in np.flatnonzero(product["family"].to_numpy(object) == family))
            ws_lines = _children(org, ws, "line")
            workshops[ws] = tuple(ws_lines)
            plant_of[ws] = plant
            for line in ws_lines:
                plant_of[line] = plant
                equipment = tuple(_children(org, line, "equipment"))
                lines.append(Line(line, ws, plant, max(len(equipment), 1), products, equipment))
    if not lines:
        raise ValueError(f"{master_dir}/org_unit.csv has no plant > workshop > line path")
    return Master(org, product, meter, plants, workshops, plant_of, tuple(lines), _characteristics(master_dir, product))


def _characteristics(master_dir: Path, product: pd.DataFrame) -> pd.DataFrame:
    """characteristic.csv (a drawing's key characteristic per product), or a generic one when absent."""
    path = master_dir / "characteristic.csv"
    if path.exists():
        spec = pd.read_csv(path, dtype={"product_id": str, "characteristic": str})
    else:
        spec = pd.DataFrame({"product_id": product["product_id"], "characteristic": "key dimension (mm)",
                             "lsl": 9.95, "usl": 10.05})
    spec = product[["product_id"]].merge(spec, on="product_id", how="left")
    if spec["lsl"].isna().any() or spec["usl"].isna().any():
        raise ValueError(f"{path}: every product needs a characteristic with lsl and usl")
    return spec
