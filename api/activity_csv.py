"""Activities as CSV (`name,male_players,female_players`), for the admin commands."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any, TextIO

from .activities import normalize_name
from .errors import BadRequest
from .models import MAX_PLAYERS, Activity
from .recommender import Counts

HEADER = ("name", "male_players", "female_players")

_COUNT = re.compile(r"[0-9]+")


class CsvError(ValueError):
    """Raised for a file that cannot be imported, with the 1-based line number at fault."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def read_activities(data: bytes) -> list[Counts]:
    """Parse and check a whole CSV file; raise CsvError at the first bad line.

    Names are normalized as the API does, and a name may appear once.
    Blank lines are skipped. A UTF-8 byte order mark is allowed.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CsvError(line, "the file is not valid UTF-8") from None

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        return _read_rows(reader)
    except csv.Error as exc:
        raise CsvError(reader.line_num, f"invalid CSV: {exc}") from None


def _read_rows(reader: Any) -> list[Counts]:
    header = next(reader, None)
    expected = ",".join(HEADER)
    if header is None:
        raise CsvError(1, f"the file is empty; expected the header {expected}")
    if [field.strip() for field in header] != list(HEADER):
        raise CsvError(1, f"expected the header {expected}, found {','.join(header)!r}")

    rows: list[Counts] = []
    first_line: dict[str, int] = {}
    for fields in reader:
        line = reader.line_num
        if not any(field.strip() for field in fields):
            continue
        if len(fields) != len(HEADER):
            raise CsvError(line, f"expected {len(HEADER)} fields, found {len(fields)}")
        try:
            name = normalize_name(fields[0])
        except BadRequest as exc:
            raise CsvError(line, str(exc.detail)) from None
        if name in first_line:
            raise CsvError(line, f"activity {name!r} is already on line {first_line[name]}")
        first_line[name] = line
        rows.append(
            Counts(
                name=name,
                male=_read_count(line, HEADER[1], fields[1]),
                female=_read_count(line, HEADER[2], fields[2]),
            )
        )
    return rows


def _read_count(line: int, column: str, value: str) -> int:
    value = value.strip()
    if not _COUNT.fullmatch(value) or int(value) > MAX_PLAYERS:
        raise CsvError(
            line, f"{column} must be a whole number from 0 to {MAX_PLAYERS}, not {value!r}"
        )
    return int(value)


def write_activities(activities: Iterable[Activity], stream: TextIO) -> int:
    """Write the header and one row per activity; return the number of rows."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(HEADER)
    count = 0
    for activity in activities:
        writer.writerow([activity.name, activity.male_players, activity.female_players])
        count += 1
    return count
