"""Export bytes to UTF-8 that DuckDB can read: one streaming scan, detection, transcoding in chunks.

DuckDB's read_csv cannot read GBK here (its encodings extension is not downloadable offline), so a
GBK/GB18030 export is transcoded to temporary UTF-8 chunk files in a stream, never held whole in
memory. A UTF-8 export that fits in one chunk is read by DuckDB as it is (gzip included).
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import hashlib
import os
import queue
import tempfile
import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
from charset_normalizer import from_bytes

from connectors.base import ConnectorError

# GB18030 is a superset of GBK and GB2312: decoding any of them as GB18030 loses nothing.
_ALIASES = {"gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030", "utf8": "utf-8", "utf_8": "utf-8",
            "utf-8-sig": "utf-8", "utf_8_sig": "utf-8"}
_CANDIDATES = ["utf_8", "gb18030", "big5", "utf_16"]
BLOCK = 4 << 20
HEAD = 2 << 20  # bytes kept for detection and sniffing
QUOTE = b'"'  # the quote character chunk cuts are planned for while scanning (others re-read the file)
_THREADED_HASH = 16 << 20  # files from this size are hashed in a thread while the scan checks the bytes


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
    # Where a file bigger than one chunk can be cut, planned during the scan for `"` quotes: (byte
    # offset of a chunk's first byte, its source line), after the first chunk. None when not planned.
    cuts: list[tuple[int, int]] | None = field(default=None, repr=False)
    cut_bytes: int | None = None  # the chunk size the cuts were planned for

    @property
    def sample(self) -> str:
        """The head decoded for sniffing; a character cut at the end is dropped."""
        text = codecs.getincrementaldecoder("utf-8-sig" if self.codec == "utf-8" else self.codec)("replace")
        return text.decode(self.head, final=len(self.head) >= self.size_bytes)


class _Digest:
    """SHA-256 of the blocks; for a big file in a thread (hashlib releases the GIL), beside the checks."""

    def __init__(self, threaded: bool):
        self.sha = hashlib.sha256()
        self.queue: queue.Queue | None = None
        if threaded:
            self.queue = queue.Queue(maxsize=4)  # bounded: at most a few blocks wait in memory
            self.thread = threading.Thread(target=self._run, name="csv-sha256", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        while (block := self.queue.get()) is not None:
            self.sha.update(block)

    def update(self, block: bytes) -> None:
        if self.queue is None:
            self.sha.update(block)
        else:
            self.queue.put(block)

    def close(self) -> None:
        if self.queue is not None:
            self.queue.put(None)
            self.thread.join()
            self.queue = None

    def hexdigest(self) -> str:
        self.close()
        return self.sha.hexdigest()


class _Utf8Check:
    """Validates UTF-8 block by block, decoding only the runs of non-ASCII bytes.

    ASCII bytes are always whole characters, so a text is valid UTF-8 exactly when every maximal
    run of bytes >= 0x80 decodes on its own. numpy finds the runs; an export with Chinese in 1 % of
    its rows then costs a fraction of decoding every block. A run that reaches the end of a block
    is carried into the next one.
    """

    MANY_RUNS = 4096  # above this many runs in a block, decoding the whole block is cheaper

    def __init__(self):
        self.carry, self.carry_at = b"", 0

    def feed(self, block: bytes, offset: int, array: np.ndarray) -> int | None:
        """File offset of the first invalid byte, or None."""
        if block.isascii():
            return self.finish()
        high = np.flatnonzero(array >= 0x80)
        gaps = np.flatnonzero(np.diff(high) != 1)
        if len(gaps) >= self.MANY_RUNS:
            return self._whole(block, offset, array)
        starts = np.concatenate((high[:1], high[gaps + 1])).tolist()
        ends = np.concatenate((high[gaps] + 1, high[-1:] + 1)).tolist()
        for s, e in zip(starts, ends):
            if self.carry and s == 0:
                run, at = self.carry + block[:e], self.carry_at
                self.carry = b""
            else:
                if (bad := self.finish()) is not None:
                    return bad
                run, at = block[s:e], offset + s
            if e == len(block):
                self.carry, self.carry_at = run, at
            elif (bad := self._check(run, at)) is not None:
                return bad
        return None

    def _whole(self, block: bytes, offset: int, array: np.ndarray) -> int | None:
        ascii_ = np.flatnonzero(array < 0x80)
        if not len(ascii_):  # not one ASCII byte: the block continues (or starts) a run
            self.carry, self.carry_at = (self.carry + block, self.carry_at) if self.carry else (block, offset)
            return None
        last = int(ascii_[-1]) + 1  # a character never spans an ASCII byte
        data, at = (self.carry + block[:last], self.carry_at) if self.carry else (block[:last], offset)
        self.carry = b""
        if last < len(block):
            self.carry, self.carry_at = block[last:], offset + last
        return self._check(data, at)

    def finish(self) -> int | None:
        if not self.carry:
            return None
        run, at = self.carry, self.carry_at
        self.carry = b""
        return self._check(run, at)

    @staticmethod
    def _check(run: bytes, at: int) -> int | None:
        try:
            run.decode("utf-8")
        except UnicodeDecodeError as exc:
            return at + exc.start
        return None


class _CutPlanner:
    """Chunk boundaries found while scanning: a newline outside `"` quotes near every chunk_bytes.

    Like the streaming cutter (`_ChunkFile.cut`): the last newline before the size is reached whose
    quote count before it is even, else the first one after it. A chunk then is a plain byte range of
    the export, copied by the kernel instead of through Python.
    """

    def __init__(self, chunk_bytes: int, nl: bytes):
        self.chunk_bytes, self.nl = chunk_bytes, nl
        self.last = 0  # offset of the current chunk's first byte
        self.pending = False  # no even newline before the target: take the first one after it
        self.cuts: list[tuple[int, int]] = []

    def feed(self, block: bytes, offset: int, lines_before: int, quotes_before: int) -> None:
        end = offset + len(block)
        quoted = QUOTE in block
        counted_at, counted = 0, lines_before  # newline count up to a position, kept incrementally
        while True:
            target = self.last + self.chunk_bytes
            if not self.pending and target >= end:
                return
            floor = max(0, self.last - offset)  # never before the previous cut
            even = (lambda at: True) if not quoted and quotes_before % 2 == 0 else (
                lambda at: (quotes_before + block.count(QUOTE, 0, at + 1)) % 2 == 0)
            cut = -1
            if not self.pending:
                cut = block.rfind(self.nl, floor, target - offset)
                while cut >= 0 and not even(cut):
                    cut = block.rfind(self.nl, floor, cut)
            if cut < 0:
                cut = block.find(self.nl, max(floor, 0 if self.pending else target - offset))
                while cut >= 0 and not even(cut):
                    cut = block.find(self.nl, cut + 1)
            if cut < 0:
                self.pending = True
                return
            counted += block.count(self.nl, counted_at, cut + 1)
            counted_at = cut + 1
            self.cuts.append((offset + cut + 1, counted + 1))
            self.last, self.pending = offset + cut + 1, False


def scan(path: Path, declared: str, source: str, chunk_bytes: int | None = None) -> FileScan:
    """Hash, count lines and check UTF-8 in one pass over the file (blank lines are found later, if any).

    With `chunk_bytes`, an uncompressed file bigger than that also gets its chunk cuts planned.
    """
    declared = codec_name(declared or "auto")
    try:
        threaded = os.path.getsize(path) >= _THREADED_HASH
    except OSError:
        threaded = False
    digest = _Digest(threaded)
    try:
        return _scan(path, declared, source, chunk_bytes, digest)
    finally:
        digest.close()


def _scan(path: Path, declared: str, source: str, chunk_bytes: int | None, digest: _Digest) -> FileScan:
    head, size, lines, quotes, tail = bytearray(), 0, 0, 0, b""
    check = _Utf8Check() if declared in ("auto", "utf-8") else None
    bad_at: int | None = None
    nl: bytes | None = None
    planner: _CutPlanner | None = None
    for block in _blocks(path, source):
        if not size:
            nul = block.find(b"\x00", 0, 65536)
            if nul >= 0 and not block.startswith((b"\xff\xfe", b"\xfe\xff")) and "16" not in declared:
                # A NUL byte never occurs in a CSV export in UTF-8 or GBK: this is binary or a damaged file.
                raise ConnectorError(f"{source}: binary content at {_position(block, nul)}; not a text export")
            nl = b"\n" if b"\n" in block or b"\r" not in block else b"\r"
            if chunk_bytes and path.suffix != ".gz":
                planner = _CutPlanner(chunk_bytes, nl)
        digest.update(block)
        if len(head) < HEAD:
            head += block[: HEAD - len(head)]
        array = np.frombuffer(block, dtype=np.uint8)
        if check is not None and bad_at is None:
            bad_at = check.feed(block, size, array)
        if planner is not None:
            planner.feed(block, size, lines, quotes)
            if QUOTE in block:
                quotes += int(np.count_nonzero(array == QUOTE[0]))
        lines += int(np.count_nonzero(array == nl[0]))
        size += len(block)
        tail = (tail + block[-4:])[-4:]
    if not size:
        raise ConnectorError(f"{source}: file is empty")
    ends = tail.endswith(nl)
    utf8_error, evidence = None, b""
    if check is not None and bad_at is None and check.finish() is not None:
        utf8_error = f"line {lines + (0 if ends else 1)}, the last bytes"
    elif bad_at is not None:
        # Detection looks where the non-UTF-8 text is: a GBK export may be ASCII for megabytes.
        utf8_error, evidence = _locate(path, source, bad_at, nl)
    codec = declared
    if declared == "utf-8" and utf8_error:
        raise ConnectorError(f"{source}: not valid utf-8 at {utf8_error}; set encoding = \"auto\" or the export's real encoding")
    if declared == "auto":
        codec = "utf-8" if utf8_error is None else _detect(_text_lines(evidence or bytes(head), nl or b"\n"),
                                                           source, utf8_error)
    elif declared != "utf-8":
        try:
            codecs.lookup(declared)
        except LookupError:
            raise ConnectorError(f"{source}: unknown encoding '{declared}'") from None
    trailing = len(tail) - len(tail.rstrip(b"\r\n")) if ends else 0  # blank lines at the very end
    cuts = [c for c in planner.cuts if c[0] < size] if planner is not None else None
    return FileScan(path, digest.hexdigest(), size, codec, bytes(head), nl or b"\n",
                    lines + (0 if ends else 1), ends, max(0, tail.count(nl, len(tail) - trailing) - 1),
                    cuts=cuts, cut_bytes=chunk_bytes if cuts is not None else None)


def _locate(path: Path, source: str, offset: int, nl: bytes) -> tuple[str, bytes]:
    """Line and byte of a file offset, and the bytes around it (read again: only when a file is bad)."""
    lines, seen, line_start, evidence = 0, 0, 0, b""
    for block in _blocks(path, source):
        if seen + len(block) <= offset:
            lines += block.count(nl)
            last = block.rfind(nl)
            line_start = seen + last + 1 if last >= 0 else line_start
            seen += len(block)
            evidence = block[-(HEAD // 2):]
            continue
        at = offset - seen
        lines += block.count(nl, 0, at)
        last = block.rfind(nl, 0, at)
        line_start = seen + last + 1 if last >= 0 else line_start
        evidence = (evidence + block)[max(0, len(evidence) + at - HEAD // 2): len(evidence) + at + HEAD // 2]
        break
    return f"line {lines + 1}, byte {offset - line_start + 1} of the line", evidence


def _text_lines(data: bytes, nl: bytes) -> bytes:
    """The lines holding non-ASCII bytes: the detector judges the Chinese text, not the digits around it.

    Around a GBK export's first Chinese row there may be a megabyte of ASCII; diluted like that, a few
    rows of GBK read as Big5 to charset-normalizer (seen with 1 to 10 such rows), concentrated they do not.
    """
    lines = [line for line in data.split(nl) if max(line, default=0) > 0x7F]
    return nl.join(lines) if lines else data


def _detect(head: bytes, source: str, utf8_error: str) -> str:
    results = from_bytes(head, cp_isolation=_CANDIDATES)
    best = results.best()
    if best is not None and best.encoding == "big5":
        # A tie (one short line of Chinese reads as well in both) goes to GB18030: mainland plants export
        # GBK; a Big5 export wins only when it reads better, or when declared (encoding = "big5").
        gb = next((m for m in results if m.encoding == "gb18030"), None)
        if gb is not None and gb.chaos <= best.chaos and gb.coherence >= best.coherence:
            best = gb
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
    if (scan_.codec == "utf-8" and scan_.cuts is not None and scan_.cut_bytes == chunk_bytes and quote == QUOTE
            and scan_.path.suffix != ".gz"):
        yield from _ranges(scan_, skip_lines, folder)
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


def _ranges(scan_: FileScan, skip_lines: int, folder: Path | None) -> Iterator[Chunk]:
    """A UTF-8 export cut where the scan planned it: each chunk is a byte range, copied by the kernel.

    The first chunk keeps the header (and title) lines and tells DuckDB to skip them, as a file that
    fits in one chunk does. A cut inside those lines is dropped. The next chunk is copied in a thread
    while the caller loads the current one (at most two chunk files exist at a time).
    """
    cuts = [(offset, line) for offset, line in scan_.cuts if line > skip_lines + 1]
    bounds = [(0, 1), *cuts, (scan_.size_bytes, scan_.lines + 1)]
    spans = list(zip(bounds, bounds[1:]))

    def copy(index: int) -> Chunk:
        (start, line), (end, next_line) = spans[index]
        fd, name = tempfile.mkstemp(prefix=f"cockpit-chunk{index:05d}-", suffix=".csv", dir=folder)
        try:
            with open(scan_.path, "rb") as src:
                _copy_range(src.fileno(), fd, start, end - start)
        except BaseException:
            os.close(fd)
            os.unlink(name)
            raise
        os.close(fd)
        skip = skip_lines if index == 0 else 0
        last = scan_.lines if end == scan_.size_bytes else next_line - 1
        return Chunk(Path(name), skip, line + skip, last, temporary=True)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="csv-chunk") as pool:
        ahead = pool.submit(copy, 0)
        try:
            for index in range(len(spans)):
                chunk = ahead.result()
                ahead = pool.submit(copy, index + 1) if index + 1 < len(spans) else None
                yield chunk
        finally:  # a chunk copied ahead that nobody will take
            if ahead is not None:
                with contextlib.suppress(Exception):
                    os.unlink(ahead.result().path)


def _copy_range(src: int, dst: int, start: int, length: int) -> None:
    """Copy bytes [start, start + length) of src to dst: copy_file_range where the OS has it."""
    if hasattr(os, "copy_file_range"):
        try:
            while length > 0 and (n := os.copy_file_range(src, dst, length, start)) > 0:
                start, length = start + n, length - n
        except OSError:  # another file system or an old kernel: copy through user space below
            pass
    os.lseek(src, start, os.SEEK_SET)
    while length > 0:
        data = os.read(src, min(length, BLOCK))
        if not data:
            raise ConnectorError("the export changed while it was read: shorter than when it was scanned")
        view = memoryview(data)
        while view:
            view = view[os.write(dst, view):]
        start, length = start + len(data), length - len(data)


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
