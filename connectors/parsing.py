"""How export text becomes typed values: header matching, and SQL that parses numbers and dates.

Chinese MES/ERP exports write numbers with thousands separators or full-width digits, dates as
2024/1/5 8:00, 2024年1月5日 or Excel serials, and headers with stray spaces, a BOM or full-width
brackets. Everything here is declared once per connector and compiled into DuckDB expressions over
the staged batch, so parsing is set-based SQL, never a Python loop over rows.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors import units
from connectors.base import ConnectorError

# Full-width digits, signs and separators as IMEs type them, and the ideographic space.
_FULL = "０１２３４５６７８９．，－＋％：／　\u2212\u00a0"
_HALF = "0123456789.,-+%:/ - "

# Tried in order after DuckDB's own ISO cast (which already takes 2024-1-5 8:00 and a T separator).
TIMESTAMP_FORMATS = (
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
    "%Y年%m月%d日 %H时%M分%S秒", "%Y年%m月%d日 %H时%M分", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H时%M分", "%Y年%m月%d日",
    "%Y%m%d%H%M%S", "%Y%m%d %H:%M:%S", "%Y%m%d",
    "%Y.%m.%d %H:%M:%S", "%Y.%m.%d",
    "%d-%b-%y", "%d-%b-%Y", "%d-%b-%y %H:%M", "%d-%b-%Y %H:%M:%S",
)
ISO_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")  # after full-width digits are folded
MONTH_FIRST = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y")
DAY_FIRST = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y")
MONTH_FORMATS = ("%Y-%m", "%Y/%m", "%Y年%m月", "%Y%m")  # ERP months; only for DATE columns
SERIAL_PATTERN = r"^[0-9]{5}(\.[0-9]+)?$"  # Excel day serials 10000..99999 (1927..2173)


# ---------------------------------------------------------------- headers
def normalise_header(text: str) -> str:
    """NFKC folds full-width letters, digits and brackets（）to ASCII; BOM and outer spaces go."""
    return unicodedata.normalize("NFKC", str(text)).replace("\ufeff", "").strip()


def candidates(source: str | Sequence[str]) -> tuple[str, ...]:
    """A mapping value is one header or a list of accepted aliases, first match wins."""
    return (source,) if isinstance(source, str) else tuple(source)


def resolve_headers(headers: Sequence[str], mapping: Mapping[str, Any], table_fields: Sequence[str],
                    required: Sequence[str], source: str, line: int = 1) -> dict[str, int]:
    """Canonical field -> position of its source column; a mapped header that is absent fails the run."""
    norm = [normalise_header(h) for h in headers]
    position: dict[str, int] = {}
    for i, h in enumerate(norm):
        position.setdefault(h, i)
    if not mapping:
        mapping = {f: f for f in table_fields if f in required or f in position}
    found, parts = {}, []
    for field_, source_names in mapping.items():
        names = candidates(source_names)
        hit = next((position[normalise_header(n)] for n in names if normalise_header(n) in position), None)
        if hit is not None:
            found[field_] = hit
            continue
        close = difflib.get_close_matches(normalise_header(names[0]), norm, n=1, cutoff=0.5)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        alias = f" (or {', '.join(repr(n) for n in names[1:])})" if len(names) > 1 else ""
        parts.append(f"column '{names[0]}'{alias} for field {field_} not found{hint}")
    if parts:
        shown = ", ".join(h for h in norm if h and not h.startswith("_source_"))
        raise ConnectorError(f"{source}: line {line} (header): " + "; ".join(parts) + f". Headers found: {shown}")
    return found


# ---------------------------------------------------------------- values
@dataclass(frozen=True)
class ParseOptions:
    """Per-connector declarations that change how text becomes values (all optional)."""

    percent_columns: frozenset[str] = frozenset()
    dayfirst: bool = False
    date_formats: tuple[str, ...] = ()  # extra strptime formats, tried before the built-in ones
    excel_serial: frozenset[str] = frozenset()  # date/timestamp fields holding Excel day serials
    excel_serial_mode: str = "auto"  # true | false | auto (a column whose values are all serials)
    source_timezone: str | None = None
    plant_timezone: str = "Asia/Shanghai"
    interval_end: bool = False  # the export stamps the END of each interval: start_at -= interval_s
    midnight_closes_date: bool = False  # an end stamp 'D 00:00' closes day D (means D+1 00:00)
    factors: Mapping[str, float] = field(default_factory=dict)  # field -> unit factor to canonical

    @classmethod
    def from_spec(cls, spec) -> ParseOptions:
        """Read and check the options of a ConnectorSpec; a bad value fails the run naming the key."""
        opts, table, where = spec.options, spec.table, f"[connectors.{spec.name}]"
        numeric = {c.name for c in table.columns if c.type in ("DOUBLE", "INTEGER", "BIGINT")}
        dated = {c.name for c in table.columns if c.type in ("DATE", "TIMESTAMP")}
        percent = opts.get("percent_columns", ())
        percent = frozenset((percent,) if isinstance(percent, str) else percent)
        if percent - numeric:
            raise ConnectorError(f"{where} percent_columns names {sorted(percent - numeric)}: not numeric fields of {table.name}")
        serial = opts.get("excel_serial_dates", "auto")
        if serial not in (True, False, "auto"):
            raise ConnectorError(f"{where} excel_serial_dates must be true, false or \"auto\"")
        stamp = str(opts.get("interval_timestamp", "start"))
        if stamp not in ("start", "end"):
            raise ConnectorError(f"{where} interval_timestamp must be \"start\" or \"end\", not {stamp!r}")
        if stamp == "end" and not {"start_at", "interval_s"} <= set(table.column_names):
            raise ConnectorError(f"{where} interval_timestamp = \"end\" needs a stream with start_at and interval_s")
        midnight = opts.get("midnight_closes_date", False)
        if not isinstance(midnight, bool):
            raise ConnectorError(f"{where} midnight_closes_date must be true or false")
        if midnight and stamp != "end":
            raise ConnectorError(f"{where} midnight_closes_date = true needs interval_timestamp = \"end\"")
        zone = opts.get("timezone")
        if zone is not None:
            _check_zone(str(zone), f"{where} timezone")
        formats = opts.get("date_formats", ())
        try:
            factors = units.factors(table.name, getattr(spec, "units", {}) or {})
        except units.UnitError as exc:
            raise ConnectorError(f"{where}.units: {exc}") from None
        return cls(
            percent_columns=percent, dayfirst=bool(opts.get("dayfirst", False)),
            date_formats=(formats,) if isinstance(formats, str) else tuple(formats),
            excel_serial=frozenset(dated) if serial is True else frozenset(),
            excel_serial_mode="auto" if serial == "auto" else str(bool(serial)).lower(),
            source_timezone=str(zone) if zone else None, plant_timezone=getattr(spec, "plant_timezone", "Asia/Shanghai"),
            interval_end=stamp == "end", midnight_closes_date=midnight, factors=factors,
        )

    def with_serial(self, fields: set[str]) -> ParseOptions:
        return ParseOptions(**{**self.__dict__, "excel_serial": self.excel_serial | frozenset(fields)})


def _check_zone(zone: str, key: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConnectorError(f"{key} = {zone!r} is not an IANA time zone like Asia/Shanghai or UTC") from None


def quote(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def normalised(raw: str) -> str:
    """Full-width digits and signs to ASCII, inner spaces and thousands separators removed."""
    return f"replace(replace(translate({raw}, {quote(_FULL)}, {quote(_HALF)}), ',', ''), ' ', '')"


def number_sql(raw: str, type_: str, name: str, opts: ParseOptions, fast: str | None = None) -> str:
    """A numeric value: the plain cast first (cheap, most rows), then the normalised text.

    `fast`, when given, is the plain cast of the untrimmed text computed for every row beforehand
    (DuckDB's casts accept surrounding spaces); the trimmed and normalised text is then only looked
    at where it failed. A declared percentage never takes it.
    """
    norm = normalised(raw)
    if name in opts.percent_columns:
        # Declared percentages: "12.5%" and "12.5" both mean 0.125.
        expr = f"TRY_CAST(rtrim({norm}, '%') AS DOUBLE) / 100"
    else:
        expr = f"COALESCE(TRY_CAST({raw} AS {type_}), TRY_CAST({norm} AS {type_}))"
        if fast:
            expr = f"CASE WHEN {fast} IS NOT NULL THEN {fast} ELSE {expr} END"
    factor = opts.factors.get(name)
    if factor is not None and factor != 1:
        expr = f"({expr}) * {float(factor)!r}"
    return f"CAST({expr} AS {type_})" if type_ != "DOUBLE" else expr


def fast_cast_ok(type_: str, name: str, opts: ParseOptions) -> bool:
    """Whether the plain cast of a field's text is the first thing its parser tries (see number_sql)."""
    if type_ in ("DOUBLE", "INTEGER", "BIGINT"):
        return name not in opts.percent_columns
    return type_ in ("DATE", "TIMESTAMP") and name not in opts.excel_serial and not opts.date_formats


def fast_cast_sql(text: str, type_: str, cast: str | None = None) -> str:
    """The plain cast of untrimmed text, as number_sql and temporal_sql try it first.

    For a DATE or TIMESTAMP the cast is taken only where temporal_sql would take it (a four-digit
    year first). Given `cast`, the name of TRY_CAST(text AS type_) computed beforehand, that is
    checked on the result: text that starts with a digit 1-9 and casts to a year >= 1000 starts with
    that year, so its first four characters are a number >= 1000. Other text gets NULL here and the
    full parser, which is exact either way.
    """
    if type_ in ("DATE", "TIMESTAMP"):
        if cast is not None:
            return f"CASE WHEN ascii({text}) BETWEEN 49 AND 57 AND year({cast}) >= 1000 THEN {cast} END"
        return f"CASE WHEN {_year_first(text)} THEN TRY_CAST({text} AS {type_}) END"
    return f"TRY_CAST({text} AS {type_})"


def _year_first(raw: str) -> str:
    # DuckDB's own cast reads any a/b/c as year/month/day, so 7/1/15 (m/d/yy) would be the year 7:
    # it is tried only for text that starts with a four-digit year, and declared formats come first.
    return f"TRY_CAST(left({raw}, 4) AS USMALLINT) >= 1000"


def _formats(opts: ParseOptions, date_only: bool) -> list[str]:
    out = [*opts.date_formats, *TIMESTAMP_FORMATS, *(DAY_FIRST if opts.dayfirst else MONTH_FIRST)]
    return out + list(MONTH_FORMATS) if date_only else out


def temporal_sql(raw: str, type_: str, name: str, opts: ParseOptions, fast: str | None = None) -> str:
    """A DATE or TIMESTAMP: ISO cast, Excel serial (when declared or detected), then the format list.

    `fast` as in number_sql: fast_cast_sql of the untrimmed text, computed for every row beforehand
    (only where fast_cast_ok: no declared formats, no Excel serials).
    """
    # The normalised text appears once: DuckDB hoists a repeated subexpression and would then compute
    # it for every row, while COALESCE evaluates its later arguments only where the earlier are NULL.
    norm = f"trim(translate({raw}, {quote(_FULL)}, {quote(_HALF)}))"
    formats = "[" + ", ".join(quote(f) for f in (*_formats(opts, type_ == "DATE"), *ISO_FORMATS)) + "]"
    year_first = _year_first(raw)
    parts = [f"CASE WHEN {year_first} THEN TRY_CAST({raw} AS TIMESTAMP) END", f"try_strptime({norm}, {formats})"]
    if opts.date_formats:
        declared = "[" + ", ".join(quote(f) for f in opts.date_formats) + "]"
        parts.insert(0, f"try_strptime({norm}, {declared})")
        fast = None
    if name in opts.excel_serial:
        serial = (f"CASE WHEN regexp_matches({raw}, {quote(SERIAL_PATTERN)}) THEN TIMESTAMP '1899-12-30' + "
                  f"to_seconds(CAST(round(TRY_CAST({raw} AS DOUBLE) * 86400) AS BIGINT)) END")
        parts.insert(0, serial)
        fast = None
    expr = f"COALESCE({', '.join(parts)})"
    if type_ == "DATE":
        expr = f"COALESCE(CASE WHEN {year_first} THEN TRY_CAST({raw} AS DATE) END, CAST({expr} AS DATE))"
        return f"CASE WHEN {fast} IS NOT NULL THEN {fast} ELSE {expr} END" if fast else expr
    if fast:
        expr = f"CASE WHEN {fast} IS NOT NULL THEN {fast} ELSE {expr} END"
    if opts.source_timezone and opts.source_timezone != opts.plant_timezone:
        # Stored timestamps are naive plant time: read as source-zone wall time, shown in the plant zone.
        expr = (f"timezone({quote(opts.plant_timezone)}, "
                f"timezone({quote(opts.source_timezone)}, CAST({expr} AS TIMESTAMP)))")
    return expr


def serial_probe_sql(fields: Sequence[str], limit: int = 1000) -> str:
    """One query answering, per date field, whether its first non-empty values are all Excel serials."""
    checks = ", ".join(
        f"coalesce(bool_and(regexp_matches(trim(CAST(\"{f}\" AS VARCHAR)), {quote(SERIAL_PATTERN)}))"
        f" FILTER (WHERE nullif(trim(CAST(\"{f}\" AS VARCHAR)), '') IS NOT NULL), false)"
        for f in fields
    )
    return f"SELECT {checks} FROM (SELECT * FROM staged LIMIT {int(limit)})"
