"""Decode export bytes: UTF-8 (with or without BOM) first, then a detector for GBK/GB18030 exports.

DuckDB's read_csv cannot read GBK here (its encodings extension is not downloadable offline), so
every file is decoded in Python and handed on as text.
"""

from __future__ import annotations

from charset_normalizer import from_bytes

from connectors.base import ConnectorError

# GB18030 is a superset of GBK and GB2312: decoding any of them as GB18030 loses nothing.
_ALIASES = {"gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030", "utf8": "utf-8"}
_CANDIDATES = ["utf_8", "gb18030", "big5", "utf_16"]


def _position(data: bytes, offset: int) -> str:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return f"line {line}, byte {column} of the line"


def decode(data: bytes, declared: str, source: str) -> tuple[str, str]:
    """Return (text, encoding used). `declared` is 'auto' or a codec name."""
    nul = data.find(b"\x00", 0, 65536)
    if nul >= 0 and not data.startswith((b"\xff\xfe", b"\xfe\xff")) and "16" not in declared:
        # A NUL byte never occurs in a CSV export in UTF-8 or GBK: this is binary or a damaged file.
        raise ConnectorError(f"{source}: binary content at {_position(data, nul)}; not a text export")
    if declared.lower() != "auto":
        codec = _ALIASES.get(declared.lower(), declared)
        try:
            text = data.decode("utf-8-sig" if codec.lower() in ("utf-8", "utf_8") else codec)
        except LookupError:
            raise ConnectorError(f"{source}: unknown encoding '{declared}'") from None
        except UnicodeDecodeError as exc:
            raise ConnectorError(
                f"{source}: not valid {declared} at {_position(data, exc.start)}; "
                f"set encoding = \"auto\" or the export's real encoding"
            ) from None
        return text, codec
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        best = from_bytes(data[:2_000_000], cp_isolation=_CANDIDATES).best()
        if best is None:
            raise ConnectorError(
                f"{source}: encoding not recognised (not UTF-8 at {_position(data, utf8_error.start)}); "
                f"set encoding explicitly"
            ) from None
        codec = _ALIASES.get(best.encoding, best.encoding)
        if codec == "gbk":
            codec = "gb18030"
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError as exc:
            raise ConnectorError(
                f"{source}: looks like {codec} but is not valid at {_position(data, exc.start)}"
            ) from None
