"""Samples out of the store (CSV, pandas) and back in (CSV)."""

from __future__ import annotations

import csv
import importlib
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from brandkit.errors import ConfigurationError
from brandkit.metrics._files import replaced
from brandkit.metrics._queries import readable
from brandkit.metrics._sample import MetricSample
from brandkit.metrics._sql import from_us

if TYPE_CHECKING:
    import pandas  # type: ignore[import-untyped, import-not-found, unused-ignore]

__all__ = ["CSV_COLUMNS", "dataframe", "read_csv", "write_csv"]

CSV_COLUMNS: tuple[str, ...] = (
    "platform",
    "account",
    "post_id",
    "metric",
    "raw_name",
    "value",
    "available",
    "reason",
    "fetched_at",
    "delivery_id",
    "campaign",
    "posted_at",
)
"""The columns of brandkit's metrics CSV, in order."""

Row = tuple[Any, ...]  # in the order of brandkit.metrics._queries._COLUMNS


@contextmanager
def _text_out(target: str | os.PathLike[str] | IO[str]) -> Iterator[IO[str]]:
    if isinstance(target, (str, os.PathLike)):
        # Whole or not at all: an export cut short left a cut CSV in place of the last one.
        with replaced(target, newline="") as handle:
            yield handle
    else:
        yield target


@contextmanager
def _text_in(source: str | os.PathLike[str] | IO[str]) -> Iterator[IO[str]]:
    if isinstance(source, (str, os.PathLike)):
        # utf-8-sig: a spreadsheet that saves "CSV UTF-8" (Excel) starts the file with a
        # byte order mark, which would otherwise become part of the first column's name.
        with open(source, newline="", encoding="utf-8-sig") as handle:
            yield handle
    else:
        yield source


def _number(value: float | None) -> str:
    if value is None:
        return ""
    # Counts read best without ".0"; other floats keep their shortest exact form.
    return str(int(value)) if value.is_integer() else repr(value)


def _iso(us: int | None, memo: dict[int, str]) -> str:
    # Every metric of a post shares its fetch and publication times: convert each once.
    if us is None:
        return ""
    text = memo.get(us)
    if text is None:
        if len(memo) > 100_000:
            memo.clear()
        text = memo[us] = from_us(us).isoformat()
    return text


# OWASP "CSV Injection": a cell starting with one of these is run as a formula by
# spreadsheets; a leading apostrophe makes it text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# Text that starts with the apostrophe itself gets one too, so that reading back is exact.
_GUARDED = (*_FORMULA_START, "'")


def _text(value: str | None) -> str:
    """A text cell that no spreadsheet runs as a formula."""
    if not value:
        return ""
    return "'" + value if value.startswith(_GUARDED) else value


def _untext(value: str) -> str:
    """A text cell as it was before `_text`."""
    if value.startswith("'") and value[1:].startswith(_GUARDED):
        return value[1:]
    return value


def write_csv(
    chunks: Iterable[list[Row]],
    target: str | os.PathLike[str] | IO[str],
    *,
    formula_guard: bool = True,
) -> int:
    """Write sample rows as CSV with a header; return the number of rows.

    With ``formula_guard`` (the default) text cells that a spreadsheet would run as a
    formula get a leading ``'`` (see [`MetricsStore.to_csv`][brandkit.MetricsStore.to_csv]).
    """
    rows = _readable(chunks)
    if formula_guard:
        return _write_csv(_guarded(rows), target)
    return _write_csv(rows, target)


def _readable(chunks: Iterable[list[Row]]) -> Iterator[list[Row]]:
    # A value that is no count would be written as it is stored (a CSV read_csv refuses)
    # or fail the writer: exported as `samples()` reads it.
    for rows in chunks:
        yield list(map(readable, rows))


def _guarded(chunks: Iterable[list[Row]]) -> Iterator[list[Row]]:
    # Numbers and times are brandkit's own and never start a formula: only the text
    # columns (platform, account, post id, metric, reason, raw name, delivery, campaign).
    for rows in chunks:
        yield [
            (
                _text(platform),
                _text(account),
                _text(post_id),
                _text(metric),
                value,
                available,
                _text(reason),
                _text(raw_name),
                fetched_at,
                _text(delivery_id),
                _text(campaign),
                posted_at,
            )
            for (
                platform,
                account,
                post_id,
                metric,
                value,
                available,
                reason,
                raw_name,
                fetched_at,
                delivery_id,
                campaign,
                posted_at,
            ) in rows
        ]


def _write_csv(chunks: Iterable[list[Row]], target: str | os.PathLike[str] | IO[str]) -> int:
    written = 0
    memo: dict[int, str] = {}
    with _text_out(target) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for rows in chunks:
            writer.writerows(
                (
                    platform,
                    account,
                    post_id or "",
                    metric,
                    raw_name or "",
                    _number(value),
                    "true" if available else "false",
                    reason or "",
                    _iso(fetched_at, memo),
                    delivery_id or "",
                    campaign or "",
                    _iso(posted_at, memo),
                )
                for (
                    platform,
                    account,
                    post_id,
                    metric,
                    value,
                    available,
                    reason,
                    raw_name,
                    fetched_at,
                    delivery_id,
                    campaign,
                    posted_at,
                ) in rows
            )
            written += len(rows)
    return written


def _time(text: str, line: int, column: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        message = f"line {line}: {column} is not an ISO 8601 time: {text!r}"
        raise ConfigurationError(message) from None
    if value.tzinfo is None:
        raise ConfigurationError(f"line {line}: {column} has no time zone: {text!r}")
    return value


def read_csv(source: str | os.PathLike[str] | IO[str]) -> list[MetricSample]:
    """Read samples back from a CSV written by `MetricsStore.to_csv`.

    Empty cells are ``None``; extra columns are ignored. The ``'`` put before text that
    starts like a formula is taken off again.

    Raises:
        ConfigurationError: a column is missing, a value or a row cannot be read (the
            message names the line), or the file is not UTF-8 text.
        OSError: the file cannot be read.
    """
    try:
        return _read_csv(source)
    except UnicodeDecodeError as exc:
        # A file re-saved in a legacy encoding (Excel's plain "CSV" on Windows is cp1252).
        raise ConfigurationError(
            f"the CSV is not UTF-8 text (byte {exc.object[exc.start : exc.start + 1]!r} "
            'cannot be read): save it as "CSV UTF-8", as to_csv writes it'
        ) from None


def _rows(reader: csv.DictReader[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """The reader's rows with their (last) line; a malformed one (a cell past the csv
    module's field limit: an unclosed quote swallowing the rest of the file) is refused
    naming the line it starts on."""
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ConfigurationError(f"line {start}: not a readable CSV row: {exc}") from None
        yield reader.line_num, row


def _read_csv(source: str | os.PathLike[str] | IO[str]) -> list[MetricSample]:
    out: list[MetricSample] = []
    with _text_in(source) as handle:
        reader = csv.DictReader(handle)
        try:
            names = reader.fieldnames
        except csv.Error as exc:
            raise ConfigurationError(f"line 1: not a readable CSV header: {exc}") from None
        if names and names[0].startswith("\ufeff"):
            # A byte order mark in text the caller decoded (an open file's, as above).
            reader.fieldnames = [names[0][1:], *names[1:]]
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ConfigurationError(
                f"not a brandkit metrics CSV: missing column(s) {', '.join(missing)}"
            )
        fields = reader.fieldnames or ()
        for line, row in _rows(reader):
            if any(row[c] is None for c in CSV_COLUMNS):
                # The csv module fills the cells a short row lacks with None: a file cut
                # off mid-line would fail below on None, or lose its last stamps unseen.
                cells = sum(row[name] is not None for name in fields)
                raise ConfigurationError(
                    f"line {line}: {cells} cells, the header has {len(fields)}: the row is "
                    "cut short (a file cut off, or cells deleted on some rows)"
                )
            flag = row["available"].strip().lower()
            if flag not in ("true", "false", "1", "0"):
                raise ConfigurationError(f"line {line}: available must be true or false")
            try:
                value = float(row["value"]) if row["value"] else None
            except ValueError:
                raise ConfigurationError(f"line {line}: value is not a number") from None
            fetched_at = _time(row["fetched_at"], line, "fetched_at")
            if fetched_at is None:
                raise ConfigurationError(f"line {line}: fetched_at is empty")
            posted_at = _time(row["posted_at"], line, "posted_at")
            try:
                sample = MetricSample(
                    platform=_untext(row["platform"]),
                    account=_untext(row["account"]),
                    post_id=_untext(row["post_id"]) or None,
                    metric=_untext(row["metric"]),
                    raw_name=_untext(row["raw_name"]) or None,
                    value=value,
                    available=flag in ("true", "1"),
                    reason=_untext(row["reason"]) or None,
                    fetched_at=fetched_at,
                    delivery_id=_untext(row["delivery_id"]) or None,
                    campaign=_untext(row["campaign"]) or None,
                    posted_at=posted_at,
                )
            except ConfigurationError as exc:
                # A number no metric can be (negative, NaN, past 2**53): say where it is.
                raise ConfigurationError(f"line {line}: {exc}") from None
            out.append(sample)
    return out


def _pandas() -> Any:
    try:
        return importlib.import_module("pandas")
    except ImportError:
        raise ConfigurationError(
            "to_dataframe() needs pandas: pip install 'brandkit[pandas]'"
        ) from None


def dataframe(chunks: Iterable[list[Row]]) -> pandas.DataFrame:
    """Sample rows as a DataFrame with the CSV's columns and real dtypes."""
    pd = _pandas()
    columns: dict[str, list[Any]] = {name: [] for name in CSV_COLUMNS}
    # The row order of _queries._COLUMNS, mapped onto the CSV column names.
    order = (
        "platform",
        "account",
        "post_id",
        "metric",
        "value",
        "available",
        "reason",
        "raw_name",
        "fetched_at",
        "delivery_id",
        "campaign",
        "posted_at",
    )
    lists = [columns[name] for name in order]
    for rows in _readable(chunks):
        for row in rows:
            for target, item in zip(lists, row, strict=True):
                target.append(item)
    data: dict[str, Any] = {}
    for name in CSV_COLUMNS:
        values = columns[name]
        if name in ("fetched_at", "posted_at"):
            data[name] = pd.to_datetime(pd.Series(values, dtype="Int64"), unit="us", utc=True)
        elif name == "value":
            data[name] = pd.Series(values, dtype="float64")
        elif name == "available":
            data[name] = pd.Series([bool(v) for v in values], dtype="bool")
        else:
            data[name] = pd.Series(values)
    return pd.DataFrame(data, columns=list(CSV_COLUMNS))
