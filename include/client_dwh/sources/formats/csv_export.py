"""The one reader for CSV files that users export from other systems and from (Russian) Excel.

Such files come as UTF-8 with or without a BOM, as Windows-1251, with ``,`` ``;`` or tab between fields,
sometimes gzipped, and now and then with one line that has a field too many (an unquoted decimal comma,
``3,75``). The reader detects encoding and delimiter, reads every readable line, and hands back the lines
whose field count does not match the header as bad lines (line number, reason, text) instead of failing
the whole file. What it cannot read at all (empty, binary, an Excel workbook, an encoding it cannot tell)
is refused with one ``CsvExportError`` line naming the file, the place and what to fix. It never guesses
an encoding that would store mojibake: bytes that are neither UTF-8 nor plausible Cyrillic Windows-1251
need an explicit encoding.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DELIMITERS = (",", ";", "\t")
_DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "tab"}
# Bytes that a text file never has but every zip, image or executable does.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_WORD = re.compile(r"[^\W\d_]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_NON_ASCII_WORD = re.compile(r"[^\W\d_]*[^\x00-\x7f][^\W\d_]*")
_HIGH_BYTES = bytes(range(0x80, 0x100))
_UTF8_CYRILLIC = re.compile(rb"[\xd0\xd1][\x80-\xbf]")
# A quoted field may span lines; an opening quote that is never closed must not swallow the whole file.
MAX_LINES_PER_RECORD = 50
PLAUSIBILITY_SAMPLE = 2_000_000  # characters whose words decide whether a cp1251 reading is Cyrillic
MAX_BAD_LINE_TEXT = 2000  # a bad line's text is kept for the steward, cut to this many characters


class CsvExportError(ValueError):
    """The file cannot be read as a CSV export at all; the one-line message names it and what to fix."""


@dataclass(frozen=True)
class BadLine:
    line: int  # 1-based physical line in the file where the record starts (the header is line 1)
    record: int  # 1-based data record number (the header is not counted; blank lines are not records)
    reason: str
    text: str


@dataclass
class CsvExport:
    name: str  # how messages name the file (the user's path, not a temporary copy)
    encoding: str
    delimiter: str
    header: list[str]
    lines: list[int] = field(default_factory=list)  # per good record: its first physical line
    records: list[int] = field(default_factory=list)  # per good record: its data record number
    bad: list[BadLine] = field(default_factory=list)
    blank_lines: int = 0
    _rows: list[list[str]] = field(default_factory=list, repr=False)
    _table: Any = field(default=None, repr=False)  # the good records as a DataFrame (fast path)

    @property
    def rows(self) -> list[list[str]]:
        """The good records, each with exactly ``len(header)`` fields, as exported."""
        return self._table.to_numpy().tolist() if self._table is not None else self._rows

    @property
    def records_read(self) -> int:
        """Data records read: good plus bad (``records_read == len(rows) + len(bad)``)."""
        return len(self.records) + len(self.bad)

    @property
    def delimiter_name(self) -> str:
        return _DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))

    def frame(self):
        """The good records as a DataFrame of strings (columns as in the header)."""
        import pandas as pd

        if self._table is not None:
            return self._table.set_axis(self.header, axis=1)
        return pd.DataFrame(self._rows, columns=self.header, dtype=object)


def read_csv_export(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    what: str = "file",
) -> CsvExport:
    """Read ``source`` (a path, or the file's bytes with ``name``); see the module docstring.

    ``encoding`` (any Python codec name, e.g. ``cp1251``) and ``delimiter`` override detection.
    """
    name = name or (str(source) if not isinstance(source, bytes) else "<bytes>")
    encoding, text = read_text(source, name=name, encoding=encoding, what=what, csv_file=True)
    physical = list(io.StringIO(text, newline=""))
    if delimiter is None:
        delimiter = _detect_delimiter(physical)
    elif delimiter not in DELIMITERS and len(delimiter) != 1:
        raise CsvExportError(f"{name}: delimiter must be one character, e.g. ',' ';' or a tab")
    return _parse(physical, name, encoding, delimiter, what)


def read_text(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    encoding: str | None = None,
    what: str = "file",
    csv_file: bool = False,
) -> tuple[str, str]:
    """``(encoding, text)`` of a user's text file (gunzipped if need be), detected as ``read_csv_export`` does.

    Refuses (``CsvExportError``) a missing, empty or binary file and bytes of an encoding it cannot tell;
    ``csv_file`` only words the messages for a CSV export.
    """
    if isinstance(source, bytes):
        data, name = source, name or "<bytes>"
    else:
        path = Path(source).expanduser()
        name = name or str(source)
        if not path.is_file():
            raise CsvExportError(f"{name}: no such file ({what}); check the path")
        data = path.read_bytes()
    data = _decompressed(data, name)
    empty = f"{name}: the file is empty; export the {what} again" + (
        " with its header line" if csv_file else ""
    )
    if not data.strip():
        raise CsvExportError(empty)
    _refuse_binary(data, name, f"export the {what} as CSV" if csv_file else f"save the {what} as plain text")
    encoding, text = _decode(data, name, encoding)
    if not text.strip():
        raise CsvExportError(empty)
    return encoding, text


def _decompressed(data: bytes, name: str) -> bytes:
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise CsvExportError(f"{name}: a damaged gzip file ({error}); copy or download it again") from error


def _refuse_binary(data: bytes, name: str, fix: str) -> None:
    if data[:4] == b"PK\x03\x04":
        raise CsvExportError(
            f"{name}: an Excel workbook or zip archive, not a CSV; save it from Excel as "
            f"'CSV UTF-8' (or unpack it) and import the .csv"
        )
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return  # Excel's "Unicode text": UTF-16, decoded below
    match = _CONTROL_BYTES.search(data[:65536])
    if match:
        line = data.count(b"\n", 0, match.start()) + 1
        raise CsvExportError(
            f"{name}: not a text file (binary byte 0x{data[match.start()]:02x} at line {line}, "
            f"byte {match.start()}); {fix}"
        )


def _decode(data: bytes, name: str, encoding: str | None) -> tuple[str, str]:
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise CsvExportError(f"{name}: unknown encoding {encoding!r}; use e.g. utf-8 or cp1251") from None
        try:
            return encoding, data.decode(encoding).removeprefix("\ufeff")
        except UnicodeDecodeError as error:
            raise CsvExportError(
                f"{name}: not {encoding} ({_where(data, error.start)}: byte 0x{data[error.start]:02x}); "
                f"give the file's real encoding"
            ) from None
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        try:
            return "utf-16", data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise CsvExportError(
                f"{name}: damaged UTF-16 text ({error.reason}); save it as CSV UTF-8"
            ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        first_bad = error.start
    else:
        _refuse_mojibake(text, name)
        return ("utf-8-sig" if text.startswith("\ufeff") else "utf-8"), text.removeprefix("\ufeff")
    if _mostly_utf8_cyrillic(data):  # as cp1251 it would read "РўР•РЎРў" for "ТЕСТ": mojibake
        raise CsvExportError(
            f"{name}: UTF-8 text with a byte that is not UTF-8 ({_where(data, first_bad)}: byte "
            f"0x{data[first_bad]:02x}), so it mixes encodings; fix that line or re-save the file as 'CSV UTF-8'"
        )
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError:
        text = None
    if text is not None and plausible_cyrillic(text):
        return "cp1251", text
    raise CsvExportError(
        f"{name}: neither UTF-8 nor Russian Windows-1251 text ({_where(data, first_bad)}: byte "
        f"0x{data[first_bad]:02x}); save it as 'CSV UTF-8' or give its encoding (e.g. --encoding cp1252)"
    )


def _where(data: bytes, offset: int) -> str:
    newlines = data.count(b"\n", 0, offset)
    return f"line {newlines + 1}"


def _refuse_mojibake(text: str, name: str) -> None:
    """Refuse UTF-8 text that already holds Cyrillic garbled by an earlier wrong decoding.

    Windows-1251 read as Latin-1 turns ``ТЕСТ`` into ``ÒÅÑÒ`` (a word of accented Latin letters only);
    UTF-8 read as Windows-1251 turns it into ``РўР•РЎРў``. Loading either would store the garbage for good.
    An explicit encoding skips this check.
    """
    if text.isascii():
        return
    garbled = {}
    for word in set(_NON_ASCII_WORD.findall(text)):  # each distinct word once
        repaired = _garbled_cyrillic(word) if len(word) >= 4 else None
        if repaired:
            garbled[word] = repaired
    if garbled:
        word = min(garbled, key=text.find)  # the first one in the file
        line = text.count("\n", 0, text.find(word)) + 1
        raise CsvExportError(
            f"{name}: line {line}: {word!r} is Cyrillic garbled by a wrong encoding ({garbled[word]!r}); "
            f"export the file again from the source system (or give --encoding to load it as it is)"
        )


def _garbled_cyrillic(word: str) -> str | None:
    """The Cyrillic word that ``word`` is a garbled reading of, if it is one."""
    for wrong, right in (("latin-1", "cp1251"), ("cp1251", "utf-8")):
        try:
            repaired = word.encode(wrong).decode(right)
        except UnicodeError:
            continue
        if (
            repaired != word
            and len(_CYRILLIC.findall(repaired)) == len(repaired)
            and (wrong == "cp1251" or not _CYRILLIC.search(word))
        ):
            return repaired
    return None


def _mostly_utf8_cyrillic(data: bytes) -> bool:
    """True when most non-ASCII bytes pair up as UTF-8 Cyrillic letters (lead byte 0xd0/0xd1)."""
    high = len(data) - len(data.translate(None, _HIGH_BYTES))
    return high > 0 and 2 * len(_UTF8_CYRILLIC.findall(data)) >= 0.5 * high


def plausible_cyrillic(text: str) -> bool:
    """True when the non-ASCII letters form Cyrillic words, as real Russian text does.

    Western European bytes decoded as cp1251 also give Cyrillic letters, but inside Latin words
    (``Café`` -> ``Cafй``); a word mixing the two alphabets is the sign of a wrong guess.
    """
    cyrillic_words = mixed_words = 0
    for word in set(_WORD.findall(text[:PLAUSIBILITY_SAMPLE])):  # distinct words of the file's start
        if not _CYRILLIC.search(word):
            continue
        if _LATIN.search(word):
            mixed_words += 1
        else:
            cyrillic_words += 1
    return cyrillic_words > 0 and mixed_words <= 0.02 * cyrillic_words


def _detect_delimiter(physical: list[str]) -> str:
    """The delimiter that splits the header into the most fields, ties broken by the data lines.

    The header holds only names, so a decimal comma in the data cannot mislead the choice; the most
    common layout, one field per line, keeps ','.
    """
    header = physical[0] if physical else ""
    sample = [line for line in physical[1:51] if line.strip()]
    best, best_score = ",", (1, 0)
    for delimiter in DELIMITERS:
        header_fields = len(next(csv.reader([header], delimiter=delimiter), []))
        if header_fields < 2:
            continue
        matching = sum(1 for line in sample if _field_count(line, delimiter) == header_fields)
        score = (header_fields, matching)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _field_count(line: str, delimiter: str) -> int:
    try:
        return len(next(csv.reader([line], delimiter=delimiter), []))
    except csv.Error:
        return 0


def _parse(physical: list[str], name: str, encoding: str, delimiter: str, what: str) -> CsvExport:
    start = 0
    while start < len(physical) and not physical[start].strip():
        start += 1
    header = [column.strip() for column in next(csv.reader([physical[start]], delimiter=delimiter))]
    label = name.replace("\\", "/").rsplit("/", 1)[-1]  # bad lines name the file without its folder
    export = CsvExport(name=name, encoding=encoding, delimiter=delimiter, header=header)
    if not (
        _parse_with_pandas(physical, start + 1, export)
        or _parse_one_record_per_line(physical, start + 1, export, label)
    ):
        _parse_tracking_lines(physical, start + 1, export, label)
    if not export.records and not export.bad:
        raise CsvExportError(f"{name}: only a header line, no data lines; export the {what} with its rows")
    return export


def _parse_with_pandas(physical: list[str], first: int, export: CsvExport) -> bool:
    """The fastest path, pandas' C parser, for the usual file: one record per line, all fitting the header.

    Returns False, having changed nothing, on anything else (a ragged or blank line, a quoted value
    spanning lines); the caller then reads the file with the csv module.
    """
    import pandas as pd

    body = physical[first:]
    if not body:
        return False
    try:
        table = pd.read_csv(
            io.StringIO("".join(body)), sep=export.delimiter, header=None, dtype=str, keep_default_na=False,
            na_values=[], skip_blank_lines=False, engine="c", quoting=csv.QUOTE_MINIMAL, on_bad_lines="error",
        )  # fmt: skip
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError):
        return False
    # Short lines are padded with NaN, blank lines are all NaN, and a value spanning lines makes fewer rows.
    if table.shape != (len(body), len(export.header)) or table.isna().to_numpy().any():
        return False
    export._table = table
    export.lines = list(range(first + 1, first + 1 + len(body)))
    export.records = list(range(1, len(body) + 1))
    return True


def _parse_one_record_per_line(physical: list[str], first: int, export: CsvExport, label: str) -> bool:
    """The fast path (C-speed parsing) when no quoted value spans lines: record i is on line first+i+1.

    Returns False, having changed nothing, when that does not hold; the caller then tracks lines.
    """
    body = physical[first:]
    try:
        rows = list(csv.reader(body, delimiter=export.delimiter))
    except csv.Error:
        return False
    if len(rows) != len(body):
        return False
    width = len(export.header)
    widths = list(map(len, rows))
    if widths.count(width) == len(rows):  # the common case: every line fits the header
        export._rows = rows
        export.lines = list(range(first + 1, first + 1 + len(rows)))
        export.records = list(range(1, len(rows) + 1))
        return True
    record_no = 0
    for index, row in enumerate(rows):
        if widths[index] == width:
            record_no += 1
            export._rows.append(row)
            export.lines.append(first + index + 1)
            export.records.append(record_no)
        elif not row or (len(row) == 1 and not row[0].strip()):
            export.blank_lines += 1
        else:
            record_no += 1
            line = first + index + 1
            text = body[index].rstrip("\r\n")[:MAX_BAD_LINE_TEXT]
            reason = _ragged_reason(label, line, row, export.header, export.delimiter)
            export.bad.append(BadLine(line, record_no, reason, text))
    return True


def _parse_tracking_lines(physical: list[str], position: int, export: CsvExport, label: str) -> None:
    """Record by record, following each one's first line; an unclosed quote costs only its own line."""
    width = len(export.header)
    record_no = 0
    while position < len(physical):
        reader = csv.reader(iter(physical[position:]), delimiter=export.delimiter)
        base = position
        while True:
            first = base + reader.line_num  # 0-based index of the next record's first line
            try:
                row = next(reader)
            except StopIteration:
                position = len(physical)
                break
            except csv.Error:  # e.g. an unclosed quote that swallowed more than the field size limit
                row = None
            spanned = base + reader.line_num - first
            if row is not None and (not row or (len(row) == 1 and not row[0].strip())):
                export.blank_lines += spanned
                continue
            record_no += 1
            if row is not None and len(row) == width:
                export._rows.append(row)
                export.lines.append(first + 1)
                export.records.append(record_no)
                continue
            text = physical[first].rstrip("\r\n")[:MAX_BAD_LINE_TEXT]
            if row is None or (spanned > 1 and (spanned > MAX_LINES_PER_RECORD or len(row) < width)):
                # An opening quote that never closes swallowed the following lines: report this line
                # alone and read on from the next one.
                reason = f'{label} line {first + 1}: a quote (") opens a value that never closes; remove or double it'
                export.bad.append(BadLine(first + 1, record_no, reason, text))
                position = first + 1
                break
            reason = _ragged_reason(label, first + 1, row, export.header, export.delimiter)
            export.bad.append(BadLine(first + 1, record_no, reason, text))


def _ragged_reason(name: str, line: int, row: list[str], header: list[str], delimiter: str) -> str:
    count, width = len(row), len(header)
    if count > width:
        hint = (
            f"a value holds an unquoted {_DELIMITER_NAMES.get(delimiter, delimiter)}"
            + (" (a decimal comma such as 3,75?)" if delimiter == "," else "")
            + "; quote that value or use another delimiter"
        )
    else:
        hint = f"the line is cut short (no value for {header[count]!r}); complete it or remove it"
    return f"{name} line {line}: {count} fields where the header has {width}: {hint}"
