"""CSV exports from a path or glob: gzip-aware, encoding-detected, one batch per chunk of rows."""

from __future__ import annotations

import glob
import gzip
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from connectors.base import SOURCE_FILE, SOURCE_LINE, Connector, ConnectorError, RawBatch, RunContext
from connectors.encoding import decode
from connectors.registry import register

CHUNK_ROWS = 200_000


def read_bytes(path: Path) -> bytes:
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


@register
class CsvConnector(Connector):
    kind = "csv"
    description = "CSV files (path or glob), UTF-8/GBK/GB18030, optionally gzip-compressed"

    def paths(self) -> list[Path]:
        pattern = str(self.spec.options.get("path", ""))
        if not pattern:
            raise ConnectorError(f"connector '{self.spec.name}': no path configured")
        full = pattern if Path(pattern).is_absolute() else str(self.spec.base_dir / pattern)
        found = sorted(Path(p) for p in glob.glob(full))
        if not found:
            raise ConnectorError(f"connector '{self.spec.name}': no file matches {full}")
        return found

    def fetch(self, ctx: RunContext) -> Iterator[RawBatch]:
        for path in self.paths():
            data = read_bytes(path)
            digest = fingerprint(data)
            if digest in ctx.seen_fingerprints:
                continue
            yield from self.parse(data, str(path), digest)

    def parse(self, data: bytes, source: str, digest: str | None) -> Iterator[RawBatch]:
        text, _codec = decode(data, str(self.spec.options.get("encoding", "auto")), source)
        if not text.strip():
            raise ConnectorError(f"{source}: file is empty")
        delimiter = str(self.spec.options.get("delimiter", ","))
        try:
            reader = pd.read_csv(
                io.StringIO(text), dtype=str, keep_default_na=False, sep=delimiter,
                skip_blank_lines=False, chunksize=CHUNK_ROWS, engine="c",
            )
            first_line = 2  # line 1 is the header
            for chunk in reader:
                chunk[SOURCE_LINE] = range(first_line, first_line + len(chunk))
                first_line += len(chunk)
                blank = (chunk.drop(columns=[SOURCE_LINE]) == "").all(axis=1)
                chunk = chunk[~blank]
                chunk[SOURCE_FILE] = source
                yield RawBatch(chunk, source, digest, len(data))
        except pd.errors.ParserError as exc:
            raise ConnectorError(f"{source}: malformed CSV: {exc}") from None
        except pd.errors.EmptyDataError:
            raise ConnectorError(f"{source}: no header line") from None
