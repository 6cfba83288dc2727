"""Candidate rows of a stream and their conversion to a canonical DataFrame.

A stream builder returns every row of the days it was asked for, with the row's completion time
and a numeric tie-break; the plant keeps the rows completed inside the window and sorts them by
(completion, tie-break), which makes generate(a, c) == generate(a, b) + generate(b, c).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from connectors.demo.calendar import EPOCH_ORDINAL, to_datetime64
from connectors.schema import STREAMS


@dataclass
class Rows:
    columns: dict[str, np.ndarray]  # TIMESTAMP as int64 seconds, DATE as day ordinals
    done: np.ndarray  # completion time, int64 seconds
    tie: np.ndarray  # int64, unique among rows with the same completion time

    @staticmethod
    def concat(parts: list[Rows], stream: str) -> Rows:
        parts = [p for p in parts if len(p.done)]
        if not parts:
            return empty(stream)
        names = parts[0].columns
        return Rows(
            {k: np.concatenate([p.columns[k] for p in parts]) for k in names},
            np.concatenate([p.done for p in parts]),
            np.concatenate([p.tie for p in parts]),
        )

    def window(self, start_s: int, end_s: int) -> Rows:
        keep = np.flatnonzero((self.done >= start_s) & (self.done < end_s))
        order = keep[np.lexsort((self.tie[keep], self.done[keep]))]
        return Rows({k: v[order] for k, v in self.columns.items()}, self.done[order], self.tie[order])


def empty(stream: str) -> Rows:
    cols = {}
    for c in STREAMS[stream].columns:
        cols[c.name] = np.array([], dtype=object if c.type == "VARCHAR" else np.float64)
    return Rows(cols, np.array([], dtype=np.int64), np.array([], dtype=np.int64))


def frame(stream: str, rows: Rows) -> pd.DataFrame:
    """A DataFrame with exactly the canonical columns of `stream` and their dtypes."""
    out = {}
    for c in STREAMS[stream].columns:
        v = rows.columns[c.name]
        # an optional TIMESTAMP or DATE arrives as float with NaN where it is empty
        missing = np.isnan(v) if v.dtype.kind == "f" else np.zeros(len(v), dtype=bool)
        if c.type == "TIMESTAMP":
            t = to_datetime64(np.where(missing, 0, v).astype(np.int64))
            out[c.name] = pd.Series(np.where(missing, np.datetime64("NaT"), t).astype(t.dtype))
        elif c.type == "DATE":
            out[c.name] = pd.Series([None if m else date.fromordinal(int(d)) for d, m in zip(v, missing)], dtype=object)
        elif c.type == "DOUBLE":
            out[c.name] = pd.Series(v, dtype="float64")
        elif c.type == "INTEGER":
            out[c.name] = pd.Series(v.astype(np.int64), dtype="int64")
        else:
            out[c.name] = pd.Series(v, dtype="str")
    return pd.DataFrame(out)


def ordinal_of_seconds(seconds: np.ndarray) -> np.ndarray:
    """Calendar day ordinal of each timestamp."""
    return seconds // 86_400 + EPOCH_ORDINAL


def strings(*parts) -> np.ndarray:
    """Concatenate scalars and arrays element-wise into an object array of str."""
    out = np.array("", dtype=object)
    for p in parts:
        out = out + (np.asarray(p).astype(str).astype(object) if not isinstance(p, str) else p)
    return np.asarray(out, dtype=object)
