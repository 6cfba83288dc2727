"""Export bytes to UTF-8 that DuckDB can read: one streaming scan, detection, transcoding in chunks.

DuckDB's read_csv cannot read GBK here (its encodings extension is not downloadable offline), so a
GBK/GB18030 export is transcoded to temporary UTF-8 chunk files in a stream, never held whole in
memory. A UTF-8 export that fits in one chunk is read by DuckDB as it is (gzip included).
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import os
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from charset_normalizer import from_bytes

from connectors.base import ConnectorError

# GB18030 is a superset of GBK and GB2312: decoding any of them as GB18030 loses nothing.
_ALIASES = {"gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030", "utf8": "utf-8", "utf_8": "utf-8",
            "utf-8-sig": "utf-8", "utf_8_sig": "utf-8"}
_CANDIDATES = ["utf_8", "gb18030", "big5", "utf_16"]
BLOCK = 4 << 20
HEAD = 2 << 20  # bytes kept for detection and sniffing


def _position(data: bytes, offset: int, lines_before: int = 0, nl: bytes = b"\n") -> str:
    line = lines_before + data.count(nl, 0, offset) + 1
    column = offset - (data.rfind(nl, 0, offset) + 1) + 1
    return f"line {line}, byte {column} of the line"


def codec_name(declared: str) -> str:
    return _ALIASES.get(declared.lower(), declared.lower())


def open_bytes(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _blocks(path: Path, source: str) -> Iterator[bytes]:
    try:
        with open_bytes(path) as f:
            while block := f.read(BLOCK):
                yield block
    except (EOFError, OSError, zlib.error) as exc:
        raise ConnectorError(f"{source}: gzip stream is damaged or cut off ({exc})") from None


@dataclass
class FileScan:
    """What one streaming pass learns about an export before DuckDB reads it."""

    path: Path
    fingerprint: str  # SHA-256 of the (decompressed) content
    size_bytes: int
    codec: str  # "utf-8" or the Python codec to transcode from
    head: bytes  # the first HEAD bytes
    newline: bytes  # b"\n" (LF and CRLF) or b"\r" (old Mac exports)
    lines: int  # physical lines; a last line without a newline counts
    ends_with_newline: bool
    trailing_blank_lines: int = 0  # empty lines after the last record (not data, not a shrink)

    @property
    def sample(self) -> str:
        """The head decoded for sniffing; a character cut at the end is dropped."""
        text = codecs.getincrementaldecoder("utf-8-sig" if self.codec == "utf-8" else self.codec)("replace")
        return text.decode(self.head, final=len(self.head) >= self.size_bytes)


def scan(path: Path, declared: str, source: str) -> FileScan:
    """Hash, count lines and check UTF-8 in one pass over the file (blank lines are found later, if any)."""
    declared = codec_name(declared or "auto")
    digest, head, size, lines, tail = hashlib.sha256(), bytearray(), 0, 0, b""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    utf8_error: str | None = None
    evidence = b""
    nl: bytes | None = None
    for block in _blocks(path, source):
        if not size:
            nul = block.find(b"\x00", 0, 65536)
            if nul >= 0 and not block.startswith((b"\xff\xfe", b"\xfe\xff")) and "16" not in declared:
                # A NUL byte never occurs in a CSV export in UTF-8 or GBK: this is binary or a damaged file.
                raise ConnectorError(f"{source}: binary content at {_position(block, nul)}; not a text export")
            nl = b"\n" if b"\n" in block or b"\r" not in block else b"\r"
        digest.update(block)
        if len(head) < HEAD:
            head += block[: HEAD - len(head)]
        if utf8_error is None and declared in ("auto", "utf-8"):
            try:
                utf8.decode(block)
            except UnicodeDecodeError as exc:
                utf8_error = _position(block, exc.start, lines, nl)
                # Detection looks where the non-UTF-8 text is: a GBK export may be ASCII for megabytes.
                evidence = block[max(0, exc.start - HEAD // 2): exc.start + HEAD // 2]
        lines += block.count(nl)
        size += len(block)
        tail = (tail + block)[-4:]
    if not size:
        raise ConnectorError(f"{source}: file is empty")
    ends = tail.endswith(nl)
    if utf8_error is None and declared in ("auto", "utf-8"):
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_error = f"line {lines + 1}, the last bytes"
    codec = declared
    if declared == "utf-8" and utf8_error:
        raise ConnectorError(f"{source}: not valid utf-8 at {utf8_error}; set encoding = \"auto\" or the export's real encoding")
    if declared == "auto":
        codec = "utf-8" if utf8_error is None else _detect(evidence or bytes(head), source, utf8_error)
    elif declared != "utf-8":
        try:
            codecs.lookup(declared)
        except LookupError:
            raise ConnectorError(f"{source}: unknown encoding '{declared}'") from None
    trailing = len(tail) - len(tail.rstrip(b"\r\n")) if ends else 0  # blank lines at the very end
    return FileScan(path, digest.hexdigest(), size, codec, bytes(head), nl or b"\n",
                    lines + (0 if ends else 1), ends, max(0, tail.count(nl, len(tail) - trailing) - 1))


def _detect(head: bytes, source: str, utf8_error: str) -> str:
    best = from_bytes(head, cp_isolation=_CANDIDATES).best()
    if best is None:
        raise ConnectorError(f"{source}: encoding not recognised (not UTF-8 at {utf8_error}); set encoding explicitly")
    codec = codec_name(best.encoding)
    if codec == "utf-8":  # detector agrees it is UTF-8, so the bad bytes are damage, not another encoding
        raise ConnectorError(f"{source}: not valid utf-8 at {utf8_error}")
    return codec


@dataclass(frozen=True)
class Chunk:
    """A piece of an export DuckDB reads: a file, lines to skip in it, and its first source line."""

    path: Path
    skip: int
    first_line: int  # source line of the chunk's first line after `skip`
    last_line: int  # source line of its last line
    temporary: bool


def utf8_blocks(scan_: FileScan, source: str) -> Iterator[bytes]:
    """The export as UTF-8 blocks; a byte the codec cannot decode fails the run naming its line."""
    if scan_.codec == "utf-8":
        yield from _blocks(scan_.path, source)
        return
    decoder = codecs.getincrementaldecoder(scan_.codec)()
    lines = 0
    for block in _blocks(scan_.path, source):
        try:
            yield decoder.decode(block).encode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConnectorError(f"{source}: not valid {scan_.codec} at {_position(block, exc.start, lines, scan_.newline)}; "
                                 f"set encoding to the export's real encoding") from None
        lines += block.count(scan_.newline)
    try:
        yield decoder.decode(b"", final=True).encode("utf-8")
    except UnicodeDecodeError:
        raise ConnectorError(f"{source}: not valid {scan_.codec}: the file ends inside a character") from None


def chunks(scan_: FileScan, skip_lines: int, chunk_bytes: int, folder: Path | None, source: str,
           quote: bytes = b'"') -> Iterator[Chunk]:
    """Cut the export after its first `skip_lines` lines into UTF-8 files of about chunk_bytes each.

    A cut is made only at a newline outside quotes (an even number of quote characters before it),
    so a quoted field with a line break is never split. Chunks are written one at a time, each only
    after the previous one was taken, so disk and memory stay bounded; a temporary chunk file is
    the taker's to delete (see csv_kind.ChunkStage).
    """
    if scan_.codec == "utf-8" and scan_.size_bytes <= chunk_bytes:
        yield Chunk(scan_.path, skip_lines, skip_lines + 1, scan_.lines, temporary=False)
        return
    nl, line, index, skipping = scan_.newline, skip_lines + 1, 0, skip_lines
    out: _ChunkFile | None = None
    for block in utf8_blocks(scan_, source):
        while skipping and block:  # header and title lines are not data
            at = block.find(nl)
            if at < 0:
                block = b""
                break
            block, skipping = block[at + 1:], skipping - 1
        while block:
            out = out or _ChunkFile(folder, index, line, nl, quote)
            room = chunk_bytes - out.size
            if room > 0 and len(block) <= room:
                out.write(block)
                break
            cut = out.cut(block, max(room, 0))
            if cut < 0:  # no safe newline in this block: the chunk grows past its size
                out.write(block)
                break
            out.write(block[: cut + 1])
            block = block[cut + 1:]
            chunk = out.close()
            yield chunk
            out, line, index = None, chunk.last_line + 1, index + 1
    if out is not None and out.size:
        yield out.close()
    elif out is not None:
        out.close()
        os.unlink(out.path)


def blank_lines(chunk: Chunk, nl: bytes) -> list[int]:
    """Source line numbers of the empty lines of a chunk (DuckDB skips them without a trace)."""
    with open_bytes(chunk.path) as f:
        data = f.read()
    pieces = data.split(nl)
    if pieces and pieces[-1] == b"":
        pieces.pop()  # after the last newline
    start = chunk.first_line - chunk.skip
    return [start + i for i, piece in enumerate(pieces) if i >= chunk.skip and not piece.strip(b"\r")]


class _ChunkFile:
    """One temporary UTF-8 chunk being written, with its line count and open-quote parity."""

    def __init__(self, folder: Path | None, index: int, first_line: int, nl: bytes, quote: bytes):
        fd, name = tempfile.mkstemp(prefix=f"cockpit-chunk{index:05d}-", suffix=".csv", dir=folder)
        self.file, self.path = os.fdopen(fd, "wb"), Path(name)
        self.first_line, self.nl, self.quote = first_line, nl, quote
        self.size = self.lines = self.quotes = 0
        self.last = b""

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.size += len(data)
        self.lines += data.count(self.nl)
        self.quotes += data.count(self.quote)
        self.last = data[-1:] or self.last

    def cut(self, block: bytes, limit: int) -> int:
        """The last newline of `block` before `limit` outside quotes, else the first after it; -1 if none."""
        def even(at: int) -> bool:
            return (self.quotes + block.count(self.quote, 0, at + 1)) % 2 == 0

        cut = block.rfind(self.nl, 0, limit)
        while cut >= 0 and not even(cut):
            cut = block.rfind(self.nl, 0, cut)
        if cut < 0:
            cut = block.find(self.nl, limit)
            while cut >= 0 and not even(cut):
                cut = block.find(self.nl, cut + 1)
        return cut

    def close(self) -> Chunk:
        self.file.close()
        n = self.lines + (0 if self.last == self.nl else 1)
        return Chunk(self.path, 0, self.first_line, self.first_line + n - 1, temporary=True)


def decode(data: bytes, declared: str, source: str) -> tuple[str, str]:
    """Return (text, encoding used) for small in-memory exports; `declared` is 'auto' or a codec name."""
    codec = codec_name(declared)
    if codec == "auto":
        try:
            return data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError as exc:
            codec = _detect(data[:HEAD], source, _position(data, exc.start))
    try:
        return data.decode("utf-8-sig" if codec == "utf-8" else codec), codec
    except LookupError:
        raise ConnectorError(f"{source}: unknown encoding '{declared}'") from None
    except UnicodeDecodeError as exc:
        raise ConnectorError(f"{source}: not valid {declared} at {_position(data, exc.start)}") from None
