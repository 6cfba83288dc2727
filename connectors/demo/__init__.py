"""The demo plant: a deterministic generator of every canonical stream, for the live demo and sample exports.

    plant = DemoPlant(master_dir, seed=42, go_live=date(2025, 1, 1))
    frame = plant.generate("production_record", start, end)   # rows completed in [start, end)
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import pandas as pd

from connectors.demo.plant import DemoPlant

DEFAULT_MASTER = Path(__file__).resolve().parents[2] / "sample_data" / "master"

__all__ = ["DEFAULT_MASTER", "DemoPlant", "generate"]


@lru_cache(maxsize=8)
def _plant(master_dir: str, seed: int, go_live: date) -> DemoPlant:
    return DemoPlant(Path(master_dir), seed, go_live)


def generate(stream: str, start: datetime, end: datetime, *, master_dir: Path | str = DEFAULT_MASTER,
             seed: int = 42, go_live: date = date(2025, 1, 1)) -> pd.DataFrame:
    """`DemoPlant(master_dir, seed, go_live).generate(stream, start, end)` with the plant kept between calls."""
    return _plant(str(master_dir), int(seed), go_live).generate(stream, start, end)
