"""CSV exports from a path or glob, read by DuckDB itself: gzip, GBK, sniffed dialect, bounded chunks.

One streaming pass hashes the file (content seen before is skipped), checks its encoding, counts
lines and plans where a big file is cut; DuckDB then reads it (or, for big or GBK files, UTF-8 chunk
files cut from it) with every field as text. A chunk whose records match its lines one to one is
read in parallel without stored rejects, its lines following from the order DuckDB keeps; the
loader may even parse and validate it straight from the reader (ChunkStage.view). Any other chunk
is read again with a line number per row and unreadable rows (a missing or extra field, broken
quoting, a row cut off at the end of the file) kept as rejects for the quarantine.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import glob
import gzip
import hashlib
import os
import weakref
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from connectors import encoding
from connectors.base import Connector, ConnectorError, ConnectorSpec, RawBatch, RunContext
from connectors.parsing import quote, resolve_headers
from connectors.registry import register

CHUNK_MB = 64  # bytes of UTF-8 per batch: bounds the memory of one staged batch
DELIMITERS = ",;\t|"
# Without skip_footer_matching a total row is quarantined, never loaded as data.
LINE = "@line"  # mapping value: the source line number, for a key the export does not have
TRUTHY = ("1", "1.0", "true", "yes", "y", "x")  # a set flag in a one-hot column
TOTAL_ROW = r"^(合计|总计|小计|共计|总数|汇总|total|sum|subtotal)([^a-z0-9_]|$)"


def read_bytes(path: Path) -> bytes:
    """A whole small file, gunzipped (for kinds that need the bytes in memory)."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError) as exc:
            raise ConnectorError(f"{path}: gzip stream is damaged or cut off ({exc})") from None
    return data


def fingerprint(data: bytes) -> str:
    """Hash of the content, not the name: a re-delivered export under a new name is still known."""
    return hashlib.sha256(data).hexdigest()


def sniff(lines: list[str], delimiter: str | None = None, quotechar: str | None = None) -> tuple[str, str]:
    """Delimiter and quote from the first lines: csv.Sniffer, checked by how consistently rows split."""
    quotechar = quotechar or '"'
    if delimiter:
        return delimiter, quotechar
    rows = [ln for ln in lines[:50] if ln.strip()]
    try:
        dialect = csv.Sniffer().sniff("\n".join(rows), delimiters=DELIMITERS)
        sniffed, quotechar = dialect.delimiter, dialect.quotechar or quotechar
    except csv.Error:
        sniffed = ","

    def score(candidate: str) -> tuple[bool, int, int]:
        # The most common field count wins, so a title line above the header does not decide.
        counts = [len(next(csv.reader([ln], delimiter=candidate, quotechar=quotechar))) for ln in rows[:20]]
        mode = max(set(counts), key=counts.count) if counts else 0
        return mode > 1, counts.count(mode), mode

    best = max(DELIMITERS, key=score)
    return (sniffed if score(sniffed) >= score(best) else best), quotechar


def _split(line: str, delimiter: str, quotechar: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter, quotechar=quotechar), [])


def _fail(error: ConnectorError, con) -> None:
    raise error


class CsvFile:
    """One export file: header resolution, then one staged batch per chunk."""

    def __init__(self, spec: ConnectorSpec, scanned: encoding.FileScan):
        self.spec, self.scan, self.source = spec, scanned, str(scanned.path)
        opts = spec.options
        self.skip_rows = int(opts.get("skip_rows", int(opts.get("header_row", 1)) - 1))  # header_row as in Excel
        self.footer = opts.get("skip_footer_matching")
        lines = scanned.sample.splitlines()
        if len(lines) <= self.skip_rows or not lines[self.skip_rows].strip():
            raise ConnectorError(f"{self.source}: line {self.skip_rows + 1} (header) is empty or missing")
        self.delimiter, self.quotechar = sniff(lines[self.skip_rows:], opts.get("delimiter"), opts.get("quote"))
        self.headers = [h.replace("\ufeff", "").strip() for h in _split(lines[self.skip_rows], self.delimiter, self.quotechar)]
        self.error: ConnectorError | None = None
        self.line_fields = [f for f, v in spec.mapping.items() if v == LINE]
        self.one_hot: dict[str, list[tuple[int, str]]] = {}
        try:
            self.positions = self._resolve(lines)
        except ConnectorError as exc:  # raised when staging, so a probe still sees the headers first
            self.positions, self.error = {}, exc
        header_line = self.skip_rows + 1
        data = [ln for ln in lines[header_line:] if ln.strip()]
        self.head = hashlib.sha1(data[0].encode()).hexdigest() if data else None
        self.rows = scanned.lines - header_line - scanned.trailing_blank_lines  # lines after the header
        if self.rows <= 0 and not opts.get("allow_empty", False):
            raise ConnectorError(f"{self.source}: header only, no data rows after line {header_line} "
                                 f"(an empty export? set allow_empty = true if that is normal)")

    def _resolve(self, lines: list[str]) -> dict[str, int]:
        table = self.spec.table
        required = [c.name for c in table.columns if c.required]
        mapping = {f: v for f, v in self.spec.mapping.items() if v != LINE}
        codes = {}
        for field_, columns in (self.spec.options.get("one_hot") or {}).items():
            for i, (header, code) in enumerate(columns.items()):
                mapping[f"{field_}\0{i}"] = header
                codes[f"{field_}\0{i}"] = str(code)
        resolve = partial(resolve_headers, mapping=mapping, table_fields=table.column_names, required=required)
        try:
            found = resolve(self.headers, source=self.source, line=self.skip_rows + 1)
            for key in codes:  # in declared order: the first flagged column wins
                self.one_hot.setdefault(key.split("\0")[0], []).append((found.pop(key), codes[key]))
            return found
        except ConnectorError as exc:
            hints = []
            for i, line in enumerate(lines[:10]):
                try:
                    resolve(_split(line, self.delimiter, self.quotechar), source=self.source)
                except ConnectorError:
                    continue
                if i != self.skip_rows:
                    hints.append(f"the header looks like line {i + 1}: set skip_rows = {i}")
                    break
            if self.scan.codec != "utf-8":
                try:
                    codecs.getincrementaldecoder("utf-8")().decode(self.scan.head)  # a cut last character is fine
                    hints.append(f"the file is valid UTF-8 but was read as {self.scan.codec}: check encoding")
                except UnicodeDecodeError:
                    pass
            if hints:
                raise ConnectorError(f"{exc}; {'; '.join(hints)}") from None
            raise

    def batches(self, folder: Path | None, chunk_bytes: int) -> Iterator[RawBatch]:
        if self.error is not None:
            yield RawBatch(None, self.source, self.scan.fingerprint, self.scan.size_bytes,
                           stage=partial(_fail, self.error), rows=self.rows, head=self.head)
            return
        quote_byte = self.quotechar.encode()
        for chunk in encoding.chunks(self.scan, self.skip_rows + 1, chunk_bytes, folder, self.source, quote_byte):
            yield RawBatch(None, self.source, self.scan.fingerprint, self.scan.size_bytes,
                           stage=ChunkStage(self, chunk), rows=self.rows, head=self.head)

    # -------------------------------------------------------------- SQL
    def _select(self, line: str | None = None) -> list[str]:
        """The canonical fields from the source columns; `line`, when known, feeds the @line fields."""
        spec, cols = self.spec, []
        for col in spec.table.columns:
            if col.name in self.positions:
                cols.append(f'c{self.positions[col.name]} AS "{col.name}"')
            elif col.name in self.one_hot:
                flagged = " ".join(f"WHEN lower(trim(c{i})) IN {TRUTHY} THEN {quote(code)}" for i, code in self.one_hot[col.name])
                cols.append(f'CASE {flagged} END AS "{col.name}"')
            elif col.name in self.line_fields:  # without `line`, set once the line numbers are fixed
                cols.append(f'CAST({line or "NULL"} AS VARCHAR) AS "{col.name}"')
            elif col.name in spec.constants:
                cols.append(f'{quote(str(spec.constants[col.name]))} AS "{col.name}"')
            elif col.required:
                raise ConnectorError(
                    f"{self.source}: connector '{spec.name}' maps no source column to required field "
                    f"{col.name} of {spec.table.name}; add it under [connectors.{spec.name}.mapping]")
            else:
                cols.append(f'CAST(NULL AS VARCHAR) AS "{col.name}"')
        return cols

    def _row_error(self) -> str:
        """A total row or the header line again; written to be cheap for the ordinary row.

        The total-row pattern is matched on the untrimmed first fields with leading space separators
        allowed (what trim would remove), and the repeated header is looked for with contains()
        before any field is trimmed.
        """
        n = len(self.headers)
        total = TOTAL_ROW.replace("^", r"^\p{Zs}*", 1)
        blank = "(c{0} IS NULL OR regexp_full_match(c{0}, '\\p{{Zs}}*'))"
        cond = f"regexp_matches(c{min(3, n) - 1}, {quote(total)}, 'i')"
        for i in reversed(range(min(3, n) - 1)):
            cond = f"regexp_matches(c{i}, {quote(total)}, 'i') OR ({blank.format(i)} AND ({cond}))"
        first = "coalesce(" + ", ".join(f"nullif(trim(c{i}), '')" for i in range(min(3, n))) + ")"
        columns = sorted({*self.positions.values(), *(i for pairs in self.one_hot.values() for i, _ in pairs)})
        repeated = " AND ".join([*(f"contains(c{i}, {quote(self.headers[i])})" for i in columns[:1]),
                                 *(f"trim(c{i}) IS NOT DISTINCT FROM {quote(self.headers[i])}" for i in columns)])
        return (f"CASE WHEN {cond} THEN 'row: looks like a total row ('"
                f" || {first} || '), not data; set skip_footer_matching to drop such rows'"
                f" WHEN {repeated or 'false'} THEN 'row: the header line repeated inside the data' END")

    def _read(self, chunk: encoding.Chunk, errors: str) -> str:
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(self.headers))) + "}"
        return (f"read_csv({quote(str(chunk.path))}, header = false, skip = {chunk.skip}, auto_detect = false, "
                f"delim = {quote(self.delimiter)}, quote = {quote(self.quotechar)}, escape = {quote(self.quotechar)}, "
                f"columns = {columns}, {errors})")

    def _derived(self) -> str:
        """The reason found while reading (a total row, the header again) and whether to drop the row."""
        n = len(self.headers)
        first = "coalesce(" + ", ".join(f"nullif(trim(c{i}), '')" for i in range(min(3, n))) + ")"
        drop = ["coalesce(" + ", ".join(f"c{i}" for i in range(n)) + ") IS NULL"]  # ",,,," is a blank row
        if self.footer:
            drop.append(f"coalesce(regexp_matches({first}, {quote(str(self.footer))}), false)")
        return f"{self._row_error()} AS _row_error, {' OR '.join(drop)} AS _drop"

    def lazy(self, con, chunk: encoding.Chunk) -> tuple[int, int] | None:
        """Create `staged` as a view straight over the chunk file; see ChunkStage.view.

        Returns (records, first line): the view must yield exactly that many records, the first on that
        line. None when this export cannot be staged so (its @line fields need the lines up front).
        """
        if self.line_fields or not con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]:
            return None
        drop_relation(con, "staged")
        con.execute("CREATE OR REPLACE TEMP TABLE rejected (source_file VARCHAR, source_line BIGINT, column_name VARCHAR, "
                    "reason VARCHAR, raw_record VARCHAR)")
        con.execute(f"""CREATE TEMP VIEW staged AS
            SELECT {', '.join(self._select())}, {quote(self.source)} AS _source_file, CAST(NULL AS BIGINT) AS _source_line,
                   CAST(NULL AS BIGINT) AS _rn, {self._derived()}
            FROM {self._read(chunk, 'ignore_errors = true')}""")
        return self._records(chunk), chunk.first_line

    def _records(self, chunk: encoding.Chunk) -> int:
        """Records DuckDB returns for a chunk when no line is blank, unreadable or continued in quotes."""
        lines = chunk.last_line - chunk.first_line + 1
        if chunk.last_line == self.scan.lines:
            lines -= self.scan.trailing_blank_lines
        return lines

    def stage(self, con, chunk: encoding.Chunk) -> None:
        """Create temp tables `staged` and `rejected` from one chunk (see RawBatch.stage).

        Fast path: DuckDB reads the chunk in parallel, dropping unreadable rows (ignore_errors). When
        the records it returns are exactly the chunk's lines, nothing was dropped and no line was
        blank, so a row's line is its position, which the order-preserving read gives as rowid; no
        row numbering pass and no rejects table. Otherwise the chunk is read again keeping rejects.
        """
        drop_relation(con, "staged")
        for name in ("csv_rejects", "csv_reject_scans"):
            con.execute(f"DROP TABLE IF EXISTS temp.{name}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE csv_raw AS SELECT * FROM {self._read(chunk, 'ignore_errors = true')}")
        records, low, high = con.execute("SELECT count(*), min(rowid), max(rowid) FROM csv_raw").fetchall()[0]
        ordered = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
        if not records or records != self._records(chunk) or not ordered or high - low + 1 != records:
            con.execute("DROP TABLE csv_raw")
            self._stage_with_rejects(con, chunk)
            return
        line = f"rowid - {low - chunk.first_line}"
        con.execute(f"""CREATE TEMP TABLE staged AS
            SELECT {', '.join(self._select(line))}, {quote(self.source)} AS _source_file, {line} AS _source_line,
                   rowid - {low - 1} AS _rn, {self._derived()}
            FROM csv_raw""")
        con.execute("DROP TABLE csv_raw")
        con.execute("CREATE OR REPLACE TEMP TABLE rejected (source_file VARCHAR, source_line BIGINT, column_name VARCHAR, "
                    "reason VARCHAR, raw_record VARCHAR)")
        if con.execute("SELECT count(*) FILTER (WHERE _drop) FROM staged").fetchall()[0][0]:
            con.execute("DELETE FROM staged WHERE _drop")

    def _stage_with_rejects(self, con, chunk: encoding.Chunk) -> None:
        """Read a chunk keeping what DuckDB cannot read as rejects, rows numbered as read."""
        n = len(self.headers)
        read = self._read(chunk, "store_rejects = true, rejects_table = 'csv_rejects', rejects_scan = 'csv_reject_scans'")
        file_ = quote(self.source)
        # Rows are numbered as DuckDB reads them; rows to drop go only after the line numbers are fixed.
        con.execute(f"""CREATE OR REPLACE TEMP TABLE staged AS
            SELECT {', '.join(self._select())}, {file_} AS _source_file, {chunk.first_line - 1} + _k AS _source_line,
                   _k AS _rn, {self._derived()}
            FROM (SELECT row_number() OVER () AS _k, * FROM {read})""")
        offset = chunk.first_line - 1 - chunk.skip
        at_end = chunk.last_line == self.scan.lines and not self.scan.ends_with_newline
        found = "regexp_extract(error_message, 'Found: ([0-9]+)', 1)"
        con.execute(f"""CREATE OR REPLACE TEMP TABLE rejected AS
            SELECT {file_} AS source_file, line + {offset} AS source_line, 'row' AS column_name,
              CASE WHEN {str(at_end).lower()} AND line + {offset} >= {chunk.last_line}
                        AND error_type IN ('MISSING COLUMNS', 'UNTERMINATED QUOTES', 'UNQUOTED VALUE')
                   THEN 'row: truncated row: the file ends mid-row (' || {found} || ' of {n} fields)'
                   WHEN error_type = 'MISSING COLUMNS'
                   THEN 'row: ' || {found} || ' fields where the header has {n} (a missing or shifted field)'
                   WHEN error_type = 'TOO MANY COLUMNS'
                   THEN 'row: ' || {found} || ' fields where the header has {n} (an extra field or an unquoted delimiter)'
                   WHEN error_type = 'INVALID UNICODE' THEN 'row: invalid UTF-8 bytes'
                   WHEN error_type IN ('UNQUOTED VALUE', 'UNTERMINATED QUOTES')
                   THEN 'row: broken quoting (text after a closing quote, or a quote never closed)'
                   ELSE 'row: ' || lower(error_type) || ': ' || error_message END AS reason,
              trim(csv_line, chr(13) || chr(10)) AS raw_record
            FROM (SELECT DISTINCT ON (line) * FROM csv_rejects ORDER BY line, column_idx)""")  # one per line
        n_rows, n_drop, n_rejected = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE _drop), (SELECT count(*) FROM rejected) FROM staged").fetchall()[0]
        if chunk.last_line - chunk.first_line + 1 > n_rows + n_rejected or n_rejected:
            self._fix_lines(con, chunk, n_rows + n_rejected)
        if n_drop:
            con.execute("DELETE FROM staged WHERE _drop")
        if self.line_fields:
            con.execute("UPDATE staged SET " + ", ".join(f'"{f}" = CAST(_source_line AS VARCHAR)' for f in self.line_fields))

    def _fix_lines(self, con, chunk: encoding.Chunk, records: int) -> None:
        """Rows after a blank or rejected line sit one line further down than their ordinal says.

        Row k of a chunk starting at line F is on line F - 1 + k + (skipped lines before it). With
        skipped lines s_1 < s_2 < ..., the j-th has s_j - F + 1 - j rows before it, so an ASOF join
        on that count finds how many skipped lines precede each row. Blank lines are looked for only
        when DuckDB's records and rejects do not add up to the chunk's lines, which is rare.
        """
        physical = chunk.last_line - chunk.first_line + 1
        blanks = encoding.blank_lines(chunk, self.scan.newline) if physical > records else []
        con.execute(f"""CREATE OR REPLACE TEMP TABLE csv_skips AS
            SELECT key, max(j) AS n FROM (
                SELECT s - {chunk.first_line - 1} - row_number() OVER (ORDER BY s) AS key,
                       row_number() OVER (ORDER BY s) AS j
                FROM (SELECT DISTINCT s FROM (SELECT unnest(?::BIGINT[]) AS s UNION ALL
                                              SELECT source_line FROM rejected) WHERE s >= {chunk.first_line}))
            GROUP BY key""", [blanks])
        con.execute("""CREATE OR REPLACE TEMP TABLE staged AS
            SELECT s.* REPLACE (s._source_line + coalesce(k.n, 0) AS _source_line)
            FROM staged s ASOF LEFT JOIN csv_skips k ON s._rn > k.key ORDER BY s._rn""")
        con.execute("DROP TABLE IF EXISTS temp.csv_skips")


class ChunkStage:
    """RawBatch.stage for one chunk; a temporary chunk file goes once read, or when nobody will read it."""

    def __init__(self, export: CsvFile, chunk: encoding.Chunk):
        self.export, self.chunk = export, chunk
        if chunk.temporary:
            weakref.finalize(self, _remove, chunk.path)

    def __call__(self, con) -> None:
        try:
            self.export.stage(con, self.chunk)
        finally:
            self.close()

    def view(self, con) -> tuple[int, int] | None:
        """Stage lazily: `staged` becomes a view over DuckDB's parallel read of the chunk file.

        The loader then parses and validates straight from the reader into its own table, without a
        copy of the rows in between. The read drops unreadable rows (ignore_errors) and the view
        carries no line numbers, so the caller checks what it got: it must hold exactly `records`
        rows, in file order (an order-preserving CREATE TABLE AS keeps it, rowid counts it), and the
        k-th is on line `first_line` + k - 1. If the count differs, some line was blank, unreadable
        or continued inside quotes, and if the caller's SQL would not keep the order (a join), row
        numbers cannot come from it: either way the caller calls this stage, which stages a table
        the ordinary way. The caller calls close() when done with the batch.

        Returns (records, first_line), or None after staging as a call does (a table).
        """
        lazy = self.export.lazy(con, self.chunk)
        if lazy is None:
            self(con)
        return lazy

    def close(self) -> None:
        if self.chunk.temporary:
            _remove(self.chunk.path)


def drop_relation(con, name: str) -> None:
    """Drop temp table or view `name`, whichever it is (DuckDB's DROP names the kind)."""
    kinds = con.execute("SELECT 'VIEW' FROM duckdb_views() WHERE temporary AND view_name = ? UNION ALL "
                        "SELECT 'TABLE' FROM duckdb_tables() WHERE temporary AND table_name = ?", [name, name]).fetchall()
    for (kind,) in kinds:
        con.execute(f"DROP {kind} IF EXISTS temp.{name}")


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


@register
class CsvConnector(Connector):
    kind = "csv"
    description = "CSV files (path or glob), UTF-8/GBK/GB18030, optionally gzip-compressed; read by DuckDB"
    options = frozenset({"path", "encoding", "delimiter", "quote", "header_row", "skip_rows",
                         "skip_footer_matching", "allow_empty", "chunk_mb", "temp_dir", "one_hot"})

    def paths(self) -> list[Path]:
        pattern = str(self.spec.options.get("path", ""))
        if not pattern:
            raise ConnectorError(f"connector '{self.spec.name}': no path configured")
        full = pattern if Path(pattern).is_absolute() else str(self.spec.base_dir / pattern)
        found = sorted(Path(p) for p in glob.glob(full))
        if not found:
            raise ConnectorError(f"connector '{self.spec.name}': no file matches {full}")
        return found

    @property
    def chunk_bytes(self) -> int:
        return max(1, int(float(self.spec.options.get("chunk_mb", CHUNK_MB)) * (1 << 20)))

    def scan(self, path: Path) -> encoding.FileScan:
        """One streaming pass over a file: fingerprint, encoding, lines and where chunks may be cut."""
        return encoding.scan(path, str(self.spec.options.get("encoding", "auto")), str(path),
                             chunk_bytes=self.chunk_bytes)

    def read(self, scanned: encoding.FileScan) -> tuple[CsvFile, Iterator[RawBatch]]:
        """The file as a run reads it (title lines skipped, delimiter and header resolved) and its batches."""
        export = CsvFile(self.spec, scanned)
        folder = self.spec.options.get("temp_dir")
        return export, export.batches(Path(folder) if folder else None, self.chunk_bytes)

    def fetch(self, ctx: RunContext) -> Iterator[RawBatch]:
        for path in self.paths():
            scanned = self.scan(path)
            if scanned.fingerprint in ctx.seen_fingerprints:
                continue
            yield from self.read(scanned)[1]

