"""The connector contract: a kind only fetches raw records; mapping, lineage and errors live here once."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
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
    mapping: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)  # a tuple lists aliases
    constants: Mapping[str, Any] = field(default_factory=dict)
    base_dir: Path = Path(".")
    max_reject_share: float = 0.1
    units: Mapping[str, str] = field(default_factory=dict)  # canonical field -> unit of the export
    plant_timezone: str = "Asia/Shanghai"  # zone of stored timestamps; a `timezone` option converts to it
    # the values of the secrets its options reference: masked in every error the run records
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @property
    def table(self) -> Table:
        return STREAMS[self.stream]


@dataclass
class RawBatch:
    """Records as the source names them, with where each came from."""

    frame: pd.DataFrame | None  # source columns + _source_file, _source_line; None when `stage` is set
    source: str  # a file path or a description of the pull
    fingerprint: str | None = None  # content hash: the same content is never loaded twice
    size_bytes: int | None = None
    # Fast path (CSV): DuckDB reads the records itself. stage(con) creates temp table `staged`
    # (canonical fields as text + _source_file, _source_line, _rn, _row_error) and temp table
    # `rejected` (source_file, source_line, column_name, reason, raw_record) for unreadable rows.
    stage: Callable[[Any], None] | None = None
    rows: int | None = None  # data rows of the whole source, recorded to notice a file that shrank
    head: str | None = None  # hash of the first data record: the same export, only shorter?


@dataclass
class RunContext:
    """What a connector may know about the world: the clock and its own saved state."""

    now: datetime  # plant-local, naive
    state: Mapping[str, str]
    seen_fingerprints: frozenset[str] = frozenset()


# Options every kind accepts: how values are parsed (connectors/parsing.py) and the loader's shrink check.
SHARED_OPTIONS = frozenset({
    "percent_columns", "dayfirst", "date_formats", "excel_serial_dates", "interval_timestamp",
    "midnight_closes_date", "timezone", "allow_shrink",
})


class Connector(ABC):
    """Base of every kind. Subclasses set `kind`, declare their `options` and implement `fetch`."""

    kind: ClassVar[str]
    description: ClassVar[str] = ""
    options: ClassVar[frozenset[str]] = frozenset()  # the kind's own option keys, besides SHARED_OPTIONS

    def __init__(self, spec: ConnectorSpec):
        self.spec = spec
        self.new_state: dict[str, str] = {}

    @abstractmethod
    def fetch(self, ctx: RunContext) -> Iterator[RawBatch]:
        """Yield raw batches not loaded before; set self.new_state for what to remember on success."""

    def batches(self, ctx: RunContext) -> Iterator[RawBatch]:
        """Fetched batches with their columns renamed to canonical fields."""
        for raw in self.fetch(ctx):
            if raw.frame is None:  # already staged in canonical fields by the kind (CSV fast path)
                yield raw
                continue
            yield RawBatch(map_columns(raw, self.spec), raw.source, raw.fingerprint, raw.size_bytes,
                           rows=raw.rows, head=raw.head)


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """Every secret value of 3 characters or more as ***, longest first, so one inside another is masked whole."""
    for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def map_columns(raw: RawBatch, spec: ConnectorSpec) -> pd.DataFrame:
    """Rename source headers to canonical names; a mapped header that is absent fails the run."""
    from connectors.parsing import resolve_headers  # parsing imports this module

    table = spec.table
    frame = raw.frame
    required = [c.name for c in table.columns if c.required]
    positions = resolve_headers(list(map(str, frame.columns)), spec.mapping, table.column_names, required, raw.source)
    out = pd.DataFrame({field_: frame.iloc[:, i] for field_, i in positions.items()}, index=frame.index)
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
