"""JSON over HTTP(S), declared not coded: URL, auth, paginator, records path and an incremental cursor.

In the spirit of dlt's REST source: a plant system differs from another by configuration only. Each
page becomes one batch; the high-water mark of `incremental_field` is kept in connector_state by the
loader, so it only advances when the whole run committed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import pandas as pd

from connectors import http
from connectors.base import SOURCE_FILE, SOURCE_LINE, Connector, ConnectorError, RawBatch, RunContext
from connectors.kinds.excel_kind import cell_text
from connectors.registry import register

PAGINATORS = ("none", "page_number", "offset", "cursor", "header_link")
_INTS = {"page_size", "start_page", "limit", "retries", "max_pages"}
_FLOATS = {"timeout_s", "backoff_s", "max_retry_after_s"}
_BOOLS = {"verify_tls"}


@dataclass(frozen=True)
class RestOptions:
    """The validated options of one rest connector; secrets stay out of repr."""

    url: str
    records_path: str = ""
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    token: str | None = field(default=None, repr=False)
    auth_header: str = "Authorization"
    params: Mapping[str, str] = field(default_factory=dict)
    paginator: str = "none"
    page_param: str = "page"
    page_size_param: str = "page_size"
    page_size: int | None = None
    start_page: int = 1
    offset_param: str = "offset"
    limit_param: str = "limit"
    limit: int = 100
    cursor_path: str = ""
    cursor_param: str = "cursor"
    incremental_field: str | None = None
    incremental_param: str | None = None
    initial_value: str | None = None
    timeout_s: float = 30.0
    retries: int = 5
    backoff_s: float = 1.0
    max_retry_after_s: float = 60.0
    max_pages: int = 10_000
    verify_tls: bool = True

    @classmethod
    def parse(cls, name: str, options: Mapping[str, Any]) -> RestOptions:
        known = list(cls.__dataclass_fields__)  # unknown keys were refused by connectors.registry
        if not options.get("url"):
            raise ConnectorError(f"connector '{name}': no url configured")
        values: dict[str, Any] = {}
        for key, value in options.items():
            if key not in known:
                continue
            try:
                if key in ("headers", "params"):
                    if not isinstance(value, Mapping):
                        raise TypeError
                    value = {str(k): cell_text(v) for k, v in value.items()}
                elif key in _INTS:
                    value = int(value)
                elif key in _FLOATS:
                    value = float(value)
                elif key in _BOOLS:
                    if not isinstance(value, bool):
                        raise TypeError
                else:
                    value = cell_text(value)
            except (TypeError, ValueError):
                raise ConnectorError(f"connector '{name}': rest option {key} has an unusable value") from None
            values[key] = value
        opts = cls(**values)
        if opts.paginator not in PAGINATORS:
            raise ConnectorError(
                f"connector '{name}': paginator '{opts.paginator}' is not one of {', '.join(PAGINATORS)}"
            )
        if opts.paginator == "cursor" and not opts.cursor_path:
            raise ConnectorError(f"connector '{name}': paginator 'cursor' needs cursor_path")
        if opts.max_pages < 1 or opts.retries < 0 or opts.timeout_s <= 0 or opts.limit < 1:
            raise ConnectorError(
                f"connector '{name}': max_pages, limit and timeout_s must be positive, retries >= 0"
            )
        return opts

    @property
    def secrets(self) -> list[str]:
        return [v for v in (self.token, *self.headers.values()) if v]

    def request_headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", **self.headers}
        if self.token:
            bearer = self.auth_header.lower() == "authorization"
            headers[self.auth_header] = f"Bearer {self.token}" if bearer else self.token
        return headers


def dig(body: Any, path: str) -> Any:
    """Follow a dotted path ('data.items') into decoded JSON; a missing step gives None."""
    for step in filter(None, path.split(".")):
        if isinstance(body, Mapping):
            body = body.get(step)
        elif isinstance(body, list) and step.isdigit() and int(step) < len(body):
            body = body[int(step)]
        else:
            return None
    return body


def flatten(record: Mapping[str, Any]) -> dict[str, str]:
    """One level of nesting becomes 'a.b' columns; deeper values and lists stay JSON text."""
    out: dict[str, str] = {}
    for key, value in record.items():
        if isinstance(value, Mapping):
            for sub, inner in value.items():
                out[f"{key}.{sub}"] = _text(inner)
        else:
            out[str(key)] = _text(value)
    return out


def _text(value: Any) -> str:
    if isinstance(value, (Mapping, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return cell_text(value)


def order_key(value: str) -> tuple:
    """How cursor values compare: numbers as numbers, ISO timestamps as instants, anything else as text."""
    text = value.strip()
    try:
        number = float(text)
        if not math.isnan(number):
            return (0, number, "")
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return (2, 0.0, text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return (1, (moment - datetime(1970, 1, 1)).total_seconds(), "")


@register
class RestConnector(Connector):
    kind = "rest"
    options = frozenset(RestOptions.__dataclass_fields__)
    description = (
        "JSON over HTTP(S): bearer token, page_number/offset/cursor/header_link paging, incremental cursor"
    )

    def fetch(self, ctx: RunContext) -> Iterator[RawBatch]:
        opts = RestOptions.parse(self.spec.name, self.spec.options)
        redact = http.Redactor(opts.secrets)
        source = http.clean_url(opts.url)
        params = dict(opts.params)
        inc_param = opts.incremental_param or opts.incremental_field
        mark = ctx.state.get("high_water_mark") or opts.initial_value
        if opts.incremental_field and mark:
            params[inc_param] = mark
        best: tuple[tuple, str] | None = None
        line = 0
        session = http.make_session(
            retries=opts.retries, backoff_s=opts.backoff_s, max_wait_s=opts.max_retry_after_s,
            headers=opts.request_headers(), verify_tls=opts.verify_tls,
        )
        with session:
            for page_no, records in self.pages(session, opts, params, source, redact):
                where = f"{source} page {page_no}"
                rows = []
                for record in records:
                    line += 1
                    if not isinstance(record, Mapping):
                        found = type(record).__name__
                        raise ConnectorError(f"{where}: record {line} is a {found}, not a JSON object")
                    row = flatten(record)
                    if opts.incremental_field:
                        best = self._track(
                            row, opts.incremental_field, mark, best, f"{where} record {line}", inc_param
                        )
                    rows.append(row)
                if not rows:
                    continue
                frame = pd.DataFrame.from_records(rows).fillna("").astype(str)
                for names in self.optional_sources():
                    if names and not any(n in frame for n in names):
                        frame[names[0]] = ""  # JSON APIs omit null fields; a whole page may lack one
                frame[SOURCE_FILE] = source
                frame[SOURCE_LINE] = range(line - len(rows) + 1, line + 1)
                yield RawBatch(frame, source)
        if best is not None:
            self.new_state = {"high_water_mark": best[1]}

    def optional_sources(self) -> list[list[str]]:
        """Mapped source fields (with aliases) of optional columns: absent from a page means null."""
        table = self.spec.table
        return [
            [src] if isinstance(src, str) else list(src)
            for name, src in self.spec.mapping.items() if not table.column(name).required
        ]

    @staticmethod
    def _track(row: dict[str, str], name: str, mark: str | None, best, where: str, param: str):
        """Max of the cursor field so far; a value below the stored mark means the source went backwards."""
        value = row.get(name, "")
        if not value.strip():
            raise ConnectorError(f"{where}: incremental_field '{name}' is missing or empty")
        key = order_key(value)
        if mark and key < order_key(mark):
            raise ConnectorError(
                f"{where}: cursor went backwards: {name} = {value} is older than the stored high-water mark "
                f"{mark}; the source ignored {param}= or rewrote its history. Nothing was loaded; to reload "
                f"from the start, delete this connector's row in connector_state"
            )
        return (key, value) if best is None or key > best[0] else best

    def pages(
        self, session, opts: RestOptions, params: dict[str, str], source: str, redact: http.Redactor
    ) -> Iterator[tuple[int, list]]:
        """(page number, records) until the paginator says there is no more; more than max_pages fails."""
        url = opts.url
        page, offset, cursor = opts.start_page, 0, None
        previous: list | None = None
        for page_no in range(1, opts.max_pages + 2):
            where = f"{source} page {page_no}"
            if page_no > opts.max_pages:
                raise ConnectorError(
                    f"{where}: more than max_pages = {opts.max_pages} pages; "
                    f"raise max_pages or check the paginator"
                )
            query: dict[str, Any] | None = dict(params)
            if opts.paginator == "page_number":
                query[opts.page_param] = page
                if opts.page_size:
                    query[opts.page_size_param] = opts.page_size
            elif opts.paginator == "offset":
                query.update({opts.offset_param: offset, opts.limit_param: opts.limit})
            elif opts.paginator == "cursor" and cursor is not None:
                query[opts.cursor_param] = cursor
            elif opts.paginator == "header_link" and page_no > 1:
                query = None  # the next link carries its own query string
            response = http.get(session, url, query, timeout_s=opts.timeout_s, retries=opts.retries,
                                where=where, redact=redact)
            body = http.json_body(response, where, redact)
            records = dig(body, opts.records_path) if opts.records_path else body
            if not isinstance(records, list):
                found = "nothing" if records is None else f"a JSON {type(records).__name__}"
                path = f"records_path '{opts.records_path}'" if opts.records_path else "the top level"
                raise ConnectorError(f"{where}: expected a list of records at {path}, found {found}")
            # A paginator that ignores our page parameter would serve page 1 forever.
            if records and records == previous:
                raise ConnectorError(f"{where}: the server returned the same records as the page before; "
                                     f"check paginator and its parameter names")
            yield page_no, records
            previous = records
            if opts.paginator == "none":
                return
            if opts.paginator in ("page_number", "offset"):
                # Stop at the first empty page, not a short one: servers that cap the page size
                # below what we asked for would otherwise end the run early and lose records.
                if not records:
                    return
                page, offset = page + 1, offset + len(records)
            elif opts.paginator == "cursor":
                nxt = dig(body, opts.cursor_path)
                nxt = None if nxt is None else cell_text(nxt)
                if not nxt or (not records and nxt == cursor):
                    return
                if nxt == cursor:
                    raise ConnectorError(f"{where}: cursor at {opts.cursor_path} did not advance ({nxt})")
                cursor = nxt
            elif opts.paginator == "header_link":
                link = response.links.get("next", {}).get("url")
                if not link:
                    return
                url = urljoin(response.url, link)
                if not http.same_origin(opts.url, url):
                    # Our credentials ride on every request; never send them to another host.
                    raise ConnectorError(f"{where}: next link points to another host ({http.clean_url(url)})")
