"""The connector contract: a kind only fetches raw records; mapping, lineage and errors live here once."""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from connectors.schema import STREAMS, Table

SOURCE_FILE = "_source_file"
SOURCE_LINE = "_source_line"


class ConnectorError(Exception):
    """A whole-run failure with a message an IT person can act on (file, line, column)."""


@dataclass(frozen=True)
class ConnectorSpec:
    """One `[connectors.NAME]` table of the config, already validated."""

    name: str
    system: str
    kind: str
    stream: str
    schedule: str = "15m"
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)  # may hold resolved secrets
    mapping: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)
    base_dir: Path = Path(".")
    max_reject_share: float = 0.1

    @property
    def table(self) -> Table:
        return STREAMS[self.stream]


@dataclass
class RawBatch:
    """Records as the source names them, with where each came from."""

    frame: pd.DataFrame  # source columns + _source_file, _source_line
    source: str  # a file path or a description of the pull
    fingerprint: str | None = None  # content hash: the same content is never loaded twice
    size_bytes: int | None = None


@dataclass
class RunContext:
    """What a connector may know about the world: the clock and its own saved state."""

    now: datetime  # plant-local, naive
    state: Mapping[str, str]
    seen_fingerprints: frozenset[str] = frozenset()


class Connector(ABC):
    """Base of every kind. Subclasses set `kind` and implement `fetch`."""

    kind: ClassVar[str]
    description: ClassVar[str] = ""

    def __init__(self, spec: ConnectorSpec):
        self.spec = spec
        self.new_state: dict[str, str] = {}

    @abstractmethod
    def fetch(self, ctx: RunContext) -> Iterator[RawBatch]:
        """Yield raw batches not loaded before; set self.new_state for what to remember on success."""

    def batches(self, ctx: RunContext) -> Iterator[RawBatch]:
        """Fetched batches with their columns renamed to canonical fields."""
        for raw in self.fetch(ctx):
            yield RawBatch(map_columns(raw, self.spec), raw.source, raw.fingerprint, raw.size_bytes)


def map_columns(raw: RawBatch, spec: ConnectorSpec) -> pd.DataFrame:
    """Rename source headers to canonical names; a mapped header that is absent fails the run."""
    table = spec.table
    frame = raw.frame
    headers = [str(c).strip() for c in frame.columns]
    frame = frame.set_axis(headers, axis=1)
    mapping = dict(spec.mapping) or {c.name: c.name for c in table.columns if c.required or c.name in headers}
    missing = [(field_, src) for field_, src in mapping.items() if src not in headers]
    if missing:
        parts = []
        for field_, src in missing:
            close = difflib.get_close_matches(src, headers, n=1, cutoff=0.5)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            parts.append(f"column '{src}' for field {field_} not found{hint}")
        raise ConnectorError(
            f"{raw.source}: line 1 (header): " + "; ".join(parts) + f". Headers found: {', '.join(h for h in headers if h not in (SOURCE_FILE, SOURCE_LINE))}"
        )
    out = pd.DataFrame({field_: frame[src] for field_, src in mapping.items()}, index=frame.index)
    for field_, value in spec.constants.items():
        out[field_] = value
    for col in table.columns:
        if col.name not in out.columns:
            if col.required:
                raise ConnectorError(
                    f"{raw.source}: connector '{spec.name}' maps no source column to required field "
                    f"{col.name} of {table.name}; add it under [connectors.{spec.name}.mapping]"
                )
            out[col.name] = None
    out = out[table.column_names]
    out[SOURCE_FILE] = frame[SOURCE_FILE] if SOURCE_FILE in frame else raw.source
    out[SOURCE_LINE] = frame[SOURCE_LINE] if SOURCE_LINE in frame else range(1, len(out) + 1)
    return out
