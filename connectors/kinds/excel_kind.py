"""Excel workbooks (.xlsx): one sheet, offset and multi-row headers, totals dropped, wide layouts melted.

Plant reports are made for people: a title above the table, a two-row header under merged cells, a
合计 row at the bottom, one column per day or per reason. This kind turns such a sheet into the
rows a CSV export would have carried, cell values as text, so validation is the same SQL for every kind.
"""

from __future__ import annotations

import glob
import hashlib
import io
import itertools
import math
import re
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from connectors.base import SOURCE_FILE, SOURCE_LINE, Connector, ConnectorError, RawBatch, RunContext
from connectors.kinds.csv_kind import fingerprint
from connectors.registry import register

CHUNK_ROWS = 100_000
OPTIONS = ("path", "sheet", "header_row", "header_rows", "skip_footer_matching", "melt", "allow_empty")
MELT_OPTIONS = ("id_columns", "value_name", "variable_name", "columns_matching")


def cell_text(value: Any) -> str:
    """A value as a CSV export would carry it: validation casts text in SQL, so the text must be exact.

    12.0 -> '12' and 0.1 + 0.2 -> '0.30000000000000004' (shortest repr, no rounding that would hide a
    wrong number); date-times as 'YYYY-MM-DD HH:MM:SS'; durations as seconds.
    """
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, datetime):
        return _datetime_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.replace(microsecond=0).isoformat() if value.microsecond < 1000 else value.isoformat()
    if isinstance(value, timedelta):
        return cell_text(value.total_seconds())
    return str(value)


def _datetime_text(value: datetime) -> str:
    # Excel stores times as fractions of a day: 08:00 can come back as 07:59:59.999999.
    rounded = value.replace(microsecond=0) + timedelta(seconds=1 if value.microsecond >= 500_000 else 0)
    if abs((rounded - value).total_seconds()) < 0.001:
        value = rounded
    return value.isoformat(sep=" ")


def header_names(rows: list[list[Any]]) -> list[str]:
    """Column names from one or more header rows, upper rows joined with '/' onto lower ones.

    Read-only openpyxl does not expose merged ranges, and exporters often just leave the cells right
    of a group title blank; so a blank upper cell takes the group title to its left when both it and
    that group have sub-headers below. '产量' merged over '合格', '报废' gives '产量/合格', '产量/报废',
    while a vertically merged '产线' (nothing below it) never spills into the next column.
    """
    width = max((len(r) for r in rows), default=0)
    grid = [[" ".join(cell_text(v).split()) for v in r] + [""] * (width - len(r)) for r in rows]
    for r in range(len(grid) - 1):
        group = ""
        for c in range(width):
            below = any(grid[k][c] for k in range(r + 1, len(grid)))
            if grid[r][c]:
                group = grid[r][c] if below else ""
            elif below and group:
                grid[r][c] = group
            else:
                group = ""
    names = []
    for c in range(width):
        parts: list[str] = []
        for r in range(len(grid)):
            if grid[r][c] and (not parts or parts[-1] != grid[r][c]):
                parts.append(grid[r][c])
        names.append("/".join(parts))
    while names and not names[-1]:
        names.pop()  # formatting often stretches the used range far to the right
    return _unique([n or f"column {_letter(i)}" for i, n in enumerate(names)])


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _unique(names: list[str]) -> list[str]:
    """Repeated headers get '.1', '.2' like pandas gives them for CSV, so both kinds map the same way."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        out.append(name)
    return out


@dataclass(frozen=True)
class Melt:
    """Wide to long: one column per period or reason becomes one row per (id columns, column)."""

    id_columns: tuple[str, ...]
    value_name: str = "value"
    variable_name: str = "variable"
    columns_matching: re.Pattern | None = None

    def apply(self, frame: pd.DataFrame, source: str) -> pd.DataFrame:
        headers = [c for c in frame.columns if c not in (SOURCE_FILE, SOURCE_LINE)]
        missing = [c for c in self.id_columns if c not in headers]
        if missing:
            raise ConnectorError(
                f"{source}: melt id_columns {missing} not found. Headers found: {', '.join(headers)}"
            )
        wide = [
            c for c in headers
            if c not in self.id_columns and (self.columns_matching is None or self.columns_matching.search(c))
        ]
        if not wide:
            raise ConnectorError(
                f"{source}: melt found no column to turn into rows. Headers found: {', '.join(headers)}"
            )
        long = frame.melt(
            id_vars=[*self.id_columns, SOURCE_FILE, SOURCE_LINE], value_vars=wide,
            var_name=self.variable_name, value_name=self.value_name, ignore_index=False,
        )
        # Row by row, columns left to right, as a person reads the sheet (and "last line wins" expects).
        long = long.sort_index(kind="stable")
        # A blank cell in a wide report means "nothing happened", not a record with a missing value.
        return long[long[self.value_name].str.strip() != ""].reset_index(drop=True)


@dataclass(frozen=True)
class ExcelOptions:
    path: str
    sheet: int | str = 0
    header_row: int = 1
    header_rows: int = 1
    footer: re.Pattern | None = None
    melt: Melt | None = None
    allow_empty: bool = False  # a sheet with a header and no rows is normal for this source

    @classmethod
    def parse(cls, name: str, options: Mapping[str, Any]) -> ExcelOptions:
        where = f"connector '{name}'"  # unknown keys were refused by connectors.registry
        if not options.get("path"):
            raise ConnectorError(f"{where}: no path configured")
        sheet = options.get("sheet", 0)
        if not isinstance(sheet, (int, str)) or isinstance(sheet, bool):
            raise ConnectorError(f"{where}: sheet must be a sheet name or a 0-based index")
        try:
            header_row, header_rows = int(options.get("header_row", 1)), int(options.get("header_rows", 1))
        except (TypeError, ValueError):
            raise ConnectorError(f"{where}: header_row and header_rows must be whole numbers") from None
        if header_row < 1 or header_rows < 1:
            raise ConnectorError(f"{where}: header_row is 1-based and header_rows at least 1")
        return cls(
            path=str(options["path"]), sheet=sheet, header_row=header_row, header_rows=header_rows,
            footer=_regex(options.get("skip_footer_matching"), f"{where} skip_footer_matching"),
            melt=_melt(options.get("melt"), where), allow_empty=options.get("allow_empty", False) is True,
        )


def _regex(pattern: Any, where: str) -> re.Pattern | None:
    if pattern in (None, ""):
        return None
    try:
        return re.compile(str(pattern))
    except re.error as exc:
        raise ConnectorError(f"{where}: not a valid regular expression: {exc}") from None


def _melt(raw: Any, where: str) -> Melt | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) - set(MELT_OPTIONS):
        raise ConnectorError(f"{where}: [melt] takes {', '.join(MELT_OPTIONS)}")
    ids = raw.get("id_columns")
    if not isinstance(ids, list) or not ids:
        raise ConnectorError(f"{where}: melt.id_columns must list the columns that identify a row")
    melt = Melt(
        id_columns=tuple(str(c) for c in ids), value_name=str(raw.get("value_name", "value")),
        variable_name=str(raw.get("variable_name", "variable")),
        columns_matching=_regex(raw.get("columns_matching"), f"{where} melt.columns_matching"),
    )
    if {melt.value_name, melt.variable_name} & set(melt.id_columns) or melt.value_name == melt.variable_name:
        raise ConnectorError(f"{where}: melt value_name and variable_name must be new, distinct column names")
    return melt


@register
class ExcelConnector(Connector):
    kind = "excel"
    options = frozenset(OPTIONS)
    description = (
        "Excel workbooks (.xlsx; path or glob): sheet, header offset, merged multi-row headers, "
        "totals skipped, wide layouts melted"
    )

    def paths(self, pattern: str) -> list[Path]:
        full = pattern if Path(pattern).is_absolute() else str(self.spec.base_dir / pattern)
        # "~$name.xlsx" is the lock file Excel leaves beside a workbook someone has open.
        found = sorted(Path(p) for p in glob.glob(full) if not Path(p).name.startswith("~$"))
        if not found:
            raise ConnectorError(f"connector '{self.spec.name}': no file matches {full}")
        return found

    def fetch(self, ctx: RunContext) -> Iterator[RawBatch]:
        opts = ExcelOptions.parse(self.spec.name, self.spec.options)
        for path in self.paths(opts.path):
            data = path.read_bytes()
            digest = fingerprint(data)
            if digest in ctx.seen_fingerprints:
                continue
            yield from self.parse(data, path, digest, opts)

    def parse(self, data: bytes, path: Path, digest: str | None, opts: ExcelOptions) -> Iterator[RawBatch]:
        from openpyxl import load_workbook  # only when a workbook is actually read
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise ConnectorError(
                f"{path}: not a readable .xlsx workbook ({type(exc).__name__}); "
                f"save it as .xlsx from Excel or WPS"
            ) from None
        try:
            sheet = _sheet(book, opts.sheet, path)
            source = f"{path}#{sheet.title}"
            sheet.reset_dimensions()  # some exporters write a wrong used range; read what is really there
            rows = sheet.iter_rows(min_row=opts.header_row, values_only=True)
            head = [list(next(rows, ())) for _ in range(opts.header_rows)]
            if not any(v not in (None, "") for r in head for v in r):
                raise ConnectorError(
                    f"{path}: sheet '{sheet.title}' is empty at header row {opts.header_row}; "
                    f"sheets: {', '.join(book.sheetnames)}"
                )
            headers = header_names(head)
            batches = self._batches(_records(rows, opts, len(headers)), headers, source, opts, digest, len(data))
            first = next(batches, None)
            if first is None and not opts.allow_empty:
                raise ConnectorError(
                    f"{source}: header only, no data rows after row {opts.header_row + opts.header_rows - 1} "
                    f"(an empty export? set allow_empty = true if that is normal)")
            if first is not None:
                yield first
            yield from batches
        finally:
            book.close()

    @classmethod
    def _batches(cls, records, headers, source, opts: ExcelOptions, digest, size) -> Iterator[RawBatch]:
        """Batches that carry the sheet's data row count and first row, as CSV batches do.

        The loader compares both with the last load of the same sheet on the first batch (a workbook
        that shrank), so that batch must know the total. A sheet of one chunk does at once; a bigger
        one is spooled to disk chunk by chunk until its end, which bounds memory as before.
        """
        first = next(records, None)
        if first is None:
            return
        head = hashlib.sha1("\x1f".join(first[0][0]).encode()).hexdigest()
        second = next(records, None)
        if second is None:
            yield RawBatch(cls._frame(*first, headers, source, opts), source, digest, size, rows=len(first[0]), head=head)
            return
        chunks = itertools.chain((first, second), records)
        del first, second  # the chain holds them only until it has handed them out
        with tempfile.TemporaryDirectory(prefix="cockpit-excel-") as folder:
            spooled, total = [], 0
            for i, (values, lines) in enumerate(chunks):
                spooled.append(Path(folder) / f"chunk{i:05d}.pkl")
                cls._frame(values, lines, headers, source, opts).to_pickle(spooled[-1])
                total += len(values)
            for path in spooled:
                frame = pd.read_pickle(path)
                path.unlink()
                yield RawBatch(frame, source, digest, size, rows=total, head=head)

    @staticmethod
    def _frame(values, lines, headers, source, opts: ExcelOptions) -> pd.DataFrame:
        frame = pd.DataFrame(values, columns=headers, dtype=str)
        frame[SOURCE_FILE] = source
        frame[SOURCE_LINE] = lines  # the Excel row number, so quarantine points at the row people see
        if opts.melt:
            frame = opts.melt.apply(frame, source)
        return frame


def _records(rows, opts: ExcelOptions, width: int) -> Iterator[tuple[list[list[str]], list[int]]]:
    """Data rows as text with their Excel row numbers, CHUNK_ROWS at a time; blank and total rows dropped."""
    values, lines = [], []
    for line, row in enumerate(rows, start=opts.header_row + opts.header_rows):
        texts = [cell_text(v) for v in row[:width]]
        first = next((t.strip() for t in texts if t.strip()), "")
        if not first or (opts.footer and opts.footer.search(first)):
            continue  # blank rows, and total rows that must never load as data
        values.append(texts + [""] * (width - len(texts)))
        lines.append(line)
        if len(values) >= CHUNK_ROWS:
            yield values, lines
            values, lines = [], []
    if values:
        yield values, lines


def _sheet(book, wanted: int | str, path: Path):
    names = book.sheetnames
    if isinstance(wanted, int) and 0 <= wanted < len(names):
        return book[names[wanted]]
    if isinstance(wanted, str) and wanted in names:
        return book[wanted]
    which = f"index {wanted} (0-based)" if isinstance(wanted, int) else f"'{wanted}'"
    raise ConnectorError(f"{path}: no sheet {which}; sheets: {', '.join(names)}")
