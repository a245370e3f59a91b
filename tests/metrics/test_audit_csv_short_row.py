"""A CSV row with fewer cells than the header (a file cut off mid-line, a column deleted in
a spreadsheet on some rows) is refused naming its line, as every other unreadable row is:
it was an AttributeError ('NoneType' object has no attribute 'startswith'), or the
misleading "fetched_at is empty" when the cut fell before that column."""

from __future__ import annotations

import io

import pytest

from brandkit.errors import ConfigurationError
from brandkit.metrics import CSV_COLUMNS, MetricsStore, read_csv


def _exported(store: MetricsStore) -> list[str]:
    out = io.StringIO()
    store.to_csv(out)
    return out.getvalue().splitlines()


@pytest.mark.parametrize("kept", [7, 9, 11])
def test_a_row_cut_short_is_refused_naming_its_line(small: MetricsStore, kept: int) -> None:
    header, *rows = _exported(small)
    cut = ",".join(rows[1].split(",")[:kept])
    text = "\n".join([header, rows[0], cut, *rows[2:]]) + "\n"
    with pytest.raises(ConfigurationError, match=f"line 3: {kept} cells, the header has 12"):
        read_csv(io.StringIO(text))


def test_whole_rows_and_extra_cells_still_read(small: MetricsStore) -> None:
    header, *rows = _exported(small)
    text = "\n".join([header, *(row + ",extra" for row in rows)]) + "\n"
    assert len(read_csv(io.StringIO(text))) == len(rows) == small.count()
    assert header.split(",") == list(CSV_COLUMNS)
