"""Reading a merchant's CSV file safely: limits, encoding, separator, header, rows.

Everything streams: the file is read in chunks and line by line, a line has a length
limit, so memory stays bounded whatever the file holds.
"""

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from django.utils.translation import gettext as _

from storefront_crm.errors import ServiceError

MAX_LINE_CHARS = 64 * 1024  # one physical line; a longer one is not a customer row
CHUNK = 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
ENCODINGS = {
    "utf-8": "UTF-8",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1 (ISO-8859-1)",
}

csv.field_size_limit(MAX_LINE_CHARS * 16)


class FileProblem(ServiceError):
    """The file as a whole cannot be imported (too big, binary, empty, no email column …)."""

    code = "file"


@dataclass(frozen=True)
class FileInfo:
    size: int
    encoding: str
    delimiter: str
    header: list[str]
    data_rows: int


def file_sniff(source: BinaryIO, *, encoding: str | None = None) -> FileInfo:
    """Check the limits and find encoding, separator and header; counts the data rows."""
    source.seek(0, io.SEEK_END)
    size = source.tell()
    source.seek(0)
    limit = settings.STOREFRONT_IMPORT_MAX_BYTES
    if size > limit:
        raise FileProblem(
            _("The file is %(size).1f MB; files up to %(limit).1f MB can be imported.")
            % {"size": size / 1e6, "limit": limit / 1e6}
        )
    head = source.read(64 * 1024)
    source.seek(0)
    if not head.lstrip(codecs.BOM_UTF8).strip():
        raise FileProblem(_("The file is empty."))
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        encoding = encoding or "utf-16"
    elif b"\x00" in head or head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"%PDF")):
        raise FileProblem(
            _(
                "This is not a CSV text file (it holds binary data; a spreadsheet workbook "
                "must be saved as CSV first)."
            )
        )
    encoding = encoding or _encoding_detect(source)
    delimiter, header = _header_read(source, encoding)
    if not any(cell.strip() for cell in header):
        raise FileProblem(_("The file has no header row."))
    data_rows = sum(1 for _row in rows_read(source, FileInfo(size, encoding, delimiter, header, 0)))
    if data_rows == 0:
        raise FileProblem(_("The file has a header but no rows."))
    return FileInfo(size, encoding, delimiter, header, data_rows)


def _encoding_detect(source: BinaryIO) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as such, else Windows-1252
    (which reads Latin-1 text the same), else Latin-1."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    bom = source.read(3) == codecs.BOM_UTF8
    source.seek(0 if not bom else 3)
    try:
        while chunk := source.read(CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
        return "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError:
        source.seek(0)
        try:
            while chunk := source.read(CHUNK):
                chunk.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            return "latin-1"
    finally:
        source.seek(0)


def _text(source: BinaryIO, encoding: str) -> io.TextIOWrapper:
    source.seek(0)
    if encoding == "utf-8":
        encoding = "utf-8-sig"  # a BOM the detection did not see is still not data
    return io.TextIOWrapper(source, encoding=encoding, newline="")


def _lines(text: io.TextIOWrapper) -> Iterator[str]:
    number = 0
    while True:
        line = text.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise FileProblem(
                _("Line %(line)d is longer than %(limit)d characters; is this a CSV file?")
                % {"line": number, "limit": MAX_LINE_CHARS}
            )
        yield line


def _header_read(source: BinaryIO, encoding: str) -> tuple[str, list[str]]:
    text = _text(source, encoding)
    try:
        first = ""
        for line in _lines(text):
            if line.strip():
                first = line
                break
    except UnicodeDecodeError:
        raise FileProblem(
            _("The file is not in the chosen encoding (%(encoding)s).") % {"encoding": encoding}
        ) from None
    finally:
        text.detach()
    delimiter = max(DELIMITERS, key=lambda d: _count_outside_quotes(first, d))
    header = next(csv.reader([first], delimiter=delimiter), [])
    while header and not header[-1].strip():
        header.pop()  # trailing empty columns
    return delimiter, [" ".join(cell.split()) for cell in header]


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            count += 1
    return count


def rows_read(source: BinaryIO, info: FileInfo) -> Iterator[tuple[int, list[str]]]:
    """The data rows as (spreadsheet row number, cells); blank lines are skipped but
    counted, the header is row 1."""
    text = _text(source, info.encoding)
    reader = csv.reader(_lines(text), delimiter=info.delimiter)
    header_seen = False
    number = 0
    try:
        for cells in reader:
            number += 1
            if not any(cell.strip() for cell in cells):
                continue
            if not header_seen:
                header_seen = True
                number = 1
                continue
            yield number, cells
    except UnicodeDecodeError:
        raise FileProblem(
            _("Row %(row)d is not in the file's encoding (%(encoding)s); choose another encoding.")
            % {"row": number + 1, "encoding": info.encoding}
        ) from None
    except csv.Error as error:
        raise FileProblem(
            _("Row %(row)d cannot be read: %(error)s") % {"row": number + 1, "error": error}
        ) from None
    finally:
        text.detach()
