"""Look at a connector's source without loading it: `test` (reachable? encoding? headers?) and `preview`.

Shared by the admin page and `cockpit connectors test|preview`, and safe in the web process: both
only read the source. Preview runs the real loader, but into a scratch in-memory store seeded with
the published master data, so every row gets the outcome a real run would give it and the writer's
store is never touched.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import difflib
import glob
import gzip
import itertools
import time
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from connectors import registry
from connectors.base import (
    SOURCE_FILE,
    SOURCE_LINE,
    Connector,
    ConnectorError,
    ConnectorSpec,
    RawBatch,
    RunContext,
)
from connectors.kinds.csv_kind import CsvConnector, CsvFile
from connectors.loader import run_connector
from connectors.schema import STREAMS, create_all
from kpis.reference import seed_reference_tables

PREVIEW_ROWS = 20
MASTER_TABLES = ("org_unit", "product", "meter")
SAMPLE_BYTES = 65536
BINARY_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".parquet")


@dataclass
class ProbeReport:
    """What `test` found; `ok` means a real run would at least get past reading and mapping."""

    connector: str
    kind: str
    stream: str
    reachable: bool = False
    sources: list[str] = field(default_factory=list)  # files matched, or the kind's description of the pull
    encoding: str | None = None  # the codec a CSV run reads the first file with; else guessed from 64 KB
    declared_encoding: str | None = None
    headers: list[str] = field(default_factory=list)
    matched: list[tuple[str, str]] = field(default_factory=list)  # (canonical field, source header)
    missing: list[tuple[str, str, str | None]] = field(default_factory=list)  # (field, header, did-you-mean)
    unmapped: list[str] = field(default_factory=list)  # source headers no field takes
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.reachable and not self.missing and self.error is None


@dataclass
class PreviewReport:
    """The first rows after mapping, each with the outcome validation gives it in a scratch store."""

    connector: str
    stream: str
    columns: list[str] = field(default_factory=list)  # canonical fields, then source line
    rows: list[dict] = field(default_factory=list)  # field values + outcome, column, reason, source_line
    status: str | None = None  # the scratch run's status (ok / unchanged / failed)
    error: str | None = None
    rejected_share_note: str | None = None  # set when this sample alone would fail a real run
    master_note: str | None = None
    seconds: float = 0.0


def spec_for_probe(spec: ConnectorSpec, go_live: date | None) -> ConnectorSpec:
    """Fill in what the writer normally adds (the mock plant's go-live date kept in the store)."""
    if spec.kind == "mock" and not isinstance(spec.options.get("go_live"), date):
        fallback = go_live or (date.today() - timedelta(days=365))
        spec = dataclasses.replace(spec, options={**spec.options, "go_live": fallback})
    return spec


# --- test ---------------------------------------------------------------------------------------

def _file_pattern(spec: ConnectorSpec) -> str | None:
    pattern = spec.options.get("path")
    if not pattern:
        return None
    return str(pattern) if Path(str(pattern)).is_absolute() else str(spec.base_dir / str(pattern))


def detect_encoding(path: Path) -> str:
    """A best guess from the first 64 KB; UTF-8 wins whenever the bytes are valid UTF-8."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8 (BOM)"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)  # a cut multibyte char is fine
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample, cp_isolation=["gb18030", "big5", "utf_16"]).best()
    if best is None:
        return "unknown"
    return "gb18030" if best.encoding in ("gbk", "gb2312", "gb18030") else best.encoding


def normalise_header(text: str) -> str:
    """Full-width letters and brackets fold to ASCII, a BOM and outer spaces go: as the loader matches."""
    return unicodedata.normalize("NFKC", str(text)).replace("\ufeff", "").strip()


def _aliases(source) -> tuple[str, ...]:
    return (source,) if isinstance(source, str) else tuple(source)  # a list lists accepted aliases


def compare_headers(spec: ConnectorSpec, headers: list[str]) -> tuple[list, list, list]:
    """Matched, missing and unmapped, by the loader's rule (first alias found wins)."""
    table = STREAMS[spec.stream]
    present = [normalise_header(h) for h in headers if h not in (SOURCE_FILE, SOURCE_LINE)]
    if spec.mapping:
        mapping = dict(spec.mapping)
    else:  # no mapping: the export already uses canonical names
        mapping = {c.name: c.name for c in table.columns if c.required or c.name in present}
    matched, missing, used = [], [], set()
    for field_, source in mapping.items():
        names = _aliases(source)
        hit = next((normalise_header(n) for n in names if normalise_header(n) in present), None)
        if hit is not None:
            matched.append((field_, hit))
            used.add(hit)
        else:
            close = difflib.get_close_matches(normalise_header(names[0]), present, n=1, cutoff=0.5)
            missing.append((field_, " | ".join(names), close[0] if close else None))
    for col in table.columns:
        if col.required and col.name not in mapping and col.name not in spec.constants:
            missing.append((col.name, "", None))  # a required field nothing feeds
    return matched, missing, [h for h in present if h not in used]


def _csv_export(connector: CsvConnector, path: Path) -> tuple[CsvFile, RawBatch | None]:
    """The CSV kind's own reading of a file and its first batch, so test and load never disagree."""
    export, batches = connector.read(connector.scan(path))
    with contextlib.closing(batches):  # no chunk cut ahead is left behind
        return export, next(batches, None)


def probe(spec: ConnectorSpec, now: datetime) -> ProbeReport:
    """Reach the source, guess the encoding, read the first batch's headers and compare with the mapping."""
    started = time.monotonic()
    report = ProbeReport(spec.name, spec.kind, spec.stream,
                        declared_encoding=str(spec.options["encoding"]) if "encoding" in spec.options else None)
    pattern = _file_pattern(spec)
    try:
        if pattern is not None:
            files = sorted(Path(p) for p in glob.glob(pattern))
            report.sources = [str(p) for p in files]
            if not files:
                raise ConnectorError(f"no file matches {pattern}")
            report.reachable = True
            if files[0].suffix.lower() not in BINARY_SUFFIXES:  # a workbook has no text encoding
                report.encoding = detect_encoding(files[0])
        connector = registry.create(spec)
        if spec.kind == "csv" and pattern is not None:
            export, first = _csv_export(connector, files[0])
            report.encoding = export.scan.codec + (" (BOM)" if export.scan.head.startswith(codecs.BOM_UTF8) else "")
            report.headers = export.headers
        else:
            ctx = RunContext(now=now, state={})  # no state, nothing seen: look at the source as it is
            first = next(iter(connector.fetch(ctx)), None)
        report.reachable = True
        if first is None:
            report.error = "the source returned no records"
        else:
            if pattern is None:
                report.sources = [first.source]
            if first.frame is not None:
                report.headers = [str(c) for c in first.frame.columns if c not in (SOURCE_FILE, SOURCE_LINE)]
            if report.headers:
                report.headers = [normalise_header(h) for h in report.headers]
                report.matched, report.missing, report.unmapped = compare_headers(spec, report.headers)
            if first.frame is None and getattr(first, "stage", None) is not None:
                _try_stage(first)  # the kind maps while staging: its own header check speaks here
    except ConnectorError as exc:
        report.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - a probe reports every failure; it must not crash the page
        report.error = f"{type(exc).__name__}: {exc}"
    report.seconds = time.monotonic() - started
    return report


def _try_stage(batch: RawBatch) -> None:
    con = duckdb.connect(":memory:")
    try:
        batch.stage(con)
    finally:
        con.close()


# --- preview ------------------------------------------------------------------------------------

class ObservedConnector(Connector):
    """Wraps a real connector: caps how many rows it yields and reports each mapped batch.

    `on_batch(rows, frame)` sees every batch: the mapped frame when capped (preview), else only
    the row count (a progress display must not pull a staged million rows into pandas).

    Its own `kind` keeps the loader from treating it as the wrapped kind. A batch the kind stages in
    DuckDB itself (RawBatch.stage, the CSV fast path) is capped and observed inside that stage step.
    """

    kind = "observed"

    def __init__(self, inner: Connector, limit: int | None = None,
                 on_batch: Callable[[int, pd.DataFrame | None], None] | None = None):
        super().__init__(inner.spec)
        self.inner = inner
        self.limit = limit
        self.on_batch = on_batch
        self.left = limit

    def fetch(self, ctx: RunContext) -> Iterator[RawBatch]:
        self.left = self.limit
        for raw in self.inner.fetch(ctx):
            if raw.frame is None and getattr(raw, "stage", None) is not None:
                raw = dataclasses.replace(raw, stage=self._staged(raw.stage))
            elif self.left is not None:
                raw = dataclasses.replace(raw, frame=raw.frame.iloc[:self.left].copy())
                self.left -= len(raw.frame)
            yield raw
            if self.left is not None and self.left <= 0:
                break  # do not make the source produce a batch nobody will look at
        self.new_state = self.inner.new_state

    def _staged(self, stage: Callable):
        def capped(con) -> None:
            stage(con)
            if self.left is not None:
                # base.RawBatch documents `staged` (with _rn, _source_line) and `rejected`.
                con.execute("CREATE OR REPLACE TEMP TABLE staged AS SELECT * FROM staged ORDER BY _rn LIMIT ?",
                            [max(self.left, 0)])
                last = con.execute("SELECT max(_source_line) FROM staged").fetchall()[0][0] or 0
                con.execute("DELETE FROM rejected WHERE source_line > ?", [last])
                self.left -= con.execute("SELECT count(*) FROM staged").fetchall()[0][0]
            if self.on_batch:
                if self.limit is not None:
                    frame = con.execute("SELECT * FROM staged").df()
                    self.on_batch(len(frame), frame)
                else:
                    self.on_batch(con.execute("SELECT count(*) FROM staged").fetchall()[0][0], None)
        return capped

    def batches(self, ctx: RunContext) -> Iterator[RawBatch]:
        for batch in super().batches(ctx):
            if self.on_batch and batch.frame is not None:
                self.on_batch(len(batch.frame), batch.frame)
            yield batch


def scratch_store(master: Mapping[str, pd.DataFrame]) -> duckdb.DuckDBPyConnection:
    """An in-memory store with the canonical schema and the published master data."""
    con = duckdb.connect(":memory:")
    create_all(con)
    seed_reference_tables(con)
    for name in MASTER_TABLES:
        frame = master.get(name)
        if frame is None or frame.empty:
            continue
        cols = [c for c in STREAMS[name].column_names if c in frame.columns]
        con.register("master_df", frame[cols])
        col_list = ", ".join(f'"{c}"' for c in cols)
        con.execute(f"INSERT OR REPLACE INTO {name} ({col_list}) SELECT {col_list} FROM master_df")
        con.unregister("master_df")
    return con


def _cell(value):
    if value is None or (not isinstance(value, (list, dict)) and pd.isna(value)):
        return None
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return str(value)[:19]
    return value if isinstance(value, (int, float, bool)) else str(value)


def preview(spec: ConnectorSpec, master: Mapping[str, pd.DataFrame], now: datetime,
                      limit: int = PREVIEW_ROWS) -> PreviewReport:
    """Run the real loader on the first `limit` rows into a scratch store; report each row's outcome."""
    started = time.monotonic()
    table = STREAMS[spec.stream]
    report = PreviewReport(spec.name, spec.stream, columns=[*table.column_names, "source_line"])
    needed = {c.references for c in table.columns if c.references and c.references != table.name}
    lacking = sorted(n for n in needed if n not in master or master[n] is None or master[n].empty)
    if lacking:
        report.master_note = f"no published master data for {', '.join(lacking)}: references to it are rejected"
    # Every row keeps its own outcome: the share-of-rejects rule would roll back the whole sample.
    sample_spec = dataclasses.replace(spec, max_reject_share=1.0)
    mapped: list[pd.DataFrame] = []
    con = scratch_store(master)
    try:
        connector = ObservedConnector(registry.create(sample_spec), limit, lambda _n, f: mapped.append(f))
        result = run_connector(con, sample_spec, now, connector=connector)
        report.status, report.error = result.status, result.error
        quarantine = con.execute(
            "SELECT source_file, source_line, string_agg(column_name, ', ') AS col, string_agg(reason, '; ') AS why "
            "FROM quarantine WHERE run_id = ? GROUP BY ALL", [result.run_id]).fetchall()
    except Exception as exc:  # noqa: BLE001 - shown to IT, never raised into the page
        report.status, report.error, quarantine = "failed", f"{type(exc).__name__}: {exc}", []
    finally:
        con.close()
    # A row check's "column" is the start of its sentence; only a real field name is worth a column.
    rejected = {(str(f), int(line)): (", ".join(c for c in (col or "").split(", ") if c in table.column_names) or None,
                                      why)
                for f, line, col, why in quarantine if line is not None}
    for frame in mapped:
        for rec in frame.to_dict("records"):
            line = rec.get(SOURCE_LINE)
            key = (str(rec.get(SOURCE_FILE)), int(line) if line is not None and not pd.isna(line) else -1)
            row = {c: _cell(rec.get(c)) for c in table.column_names}
            row["source_line"], row["_file"] = key[1], key[0]
            if key in rejected:
                row.update(outcome="quarantined", column=rejected[key][0], reason=rejected[key][1])
            elif report.status == "failed":
                row.update(outcome="not loaded", column=None, reason=None)
            else:
                row.update(outcome="ok", column=None, reason=None)
            report.rows.append(row)
    seen = {(str(r.get("_file")), r["source_line"]) for r in report.rows}
    for (file_, line), (col, why) in sorted(rejected.items(), key=lambda kv: kv[0][1]):
        if (file_, line) not in seen:  # unreadable before mapping (a kind's own reader rejected it)
            report.rows.append({**{c: None for c in table.column_names}, "source_line": line,
                                "outcome": "quarantined", "column": col, "reason": why})
    for r in report.rows:
        r.pop("_file", None)
    report.rows.sort(key=lambda r: r["source_line"])
    bad = sum(r["outcome"] == "quarantined" for r in report.rows)
    if report.rows and bad / len(report.rows) > spec.max_reject_share:
        report.rejected_share_note = (f"{bad} of {len(report.rows)} sample rows rejected, more than max_reject_share "
                                      f"{spec.max_reject_share:.0%}: a run like this fails whole")
    report.seconds = time.monotonic() - started
    return report


# --- text for the CLI ---------------------------------------------------------------------------

def format_probe(report: ProbeReport) -> str:
    verdict = "OK" if report.ok else "PROBLEM"
    lines = [f"{report.connector} ({report.kind} -> {report.stream}): {verdict}  [{report.seconds:.1f} s]",
             f"  reachable: {'yes' if report.reachable else 'no'}"]
    for src in itertools.islice(report.sources, 5):
        lines.append(f"    {src}")
    if len(report.sources) > 5:
        lines.append(f"    … {len(report.sources) - 5} more")
    if report.encoding:
        lines.append(f"  encoding: {report.encoding} (configured: {report.declared_encoding or 'auto'})")
    if report.headers:
        lines.append(f"  headers found: {', '.join(report.headers)}")
    for field_, src in report.matched:
        lines.append(f"    ok       {field_:<18} <- {src}")
    for field_, src, hint in report.missing:
        what = f"'{src}' not found" + (f" (did you mean '{hint}'?)" if hint else "") if src else "no source column"
        lines.append(f"    MISSING  {field_:<18} <- {what}")
    for src in report.unmapped:
        lines.append(f"    unmapped {'':<18}    {src}")
    if report.error:
        lines.append(f"  error: {report.error}")
    return "\n".join(lines)


def format_preview(report: PreviewReport) -> str:
    cols = [c for c in report.columns if c != "source_line"]
    head = f"{report.connector} -> {report.stream}: {len(report.rows)} rows, scratch run {report.status}"
    lines = [f"{head}  [{report.seconds:.1f} s]"]
    for note in (report.master_note, report.rejected_share_note):
        if note:
            lines.append(f"  note: {note}")
    if report.error:
        lines.append(f"  error: {report.error}")
    frame = pd.DataFrame([{"line": r["source_line"], "outcome": r["outcome"], **{c: r[c] for c in cols}}
                          for r in report.rows])
    if not frame.empty:
        lines.append(frame.to_string(index=False, max_colwidth=24))
    for r in report.rows:
        if r["outcome"] == "quarantined":
            where = f"[{r['column']}] " if r.get("column") else ""
            lines.append(f"  line {r['source_line']}: {where}{r['reason']}")
    return "\n".join(lines)
