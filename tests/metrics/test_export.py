"""CSV and pandas export."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import pytest

from brandkit.errors import ConfigurationError
from brandkit.metrics import CSV_COLUMNS, MetricSample, MetricsStore, read_csv
from tests.metrics._data import at, small_samples


def _key(s: MetricSample) -> tuple[object, ...]:
    return (s.platform, s.account, s.post_id or "", s.metric, s.fetched_at)


def test_csv_round_trip(small: MetricsStore, tmp_path: Path) -> None:
    """Every sample written to CSV reads back equal, unavailable ones included."""
    path = tmp_path / "out.csv"
    assert small.to_csv(path) == len(small_samples())
    back = read_csv(path)
    assert sorted(back, key=_key) == sorted(small_samples(), key=_key)


def test_csv_round_trip_into_another_store(small: MetricsStore, tmp_path: Path) -> None:
    """A CSV export imported into a new store gives the same query answers."""
    buffer = io.StringIO()
    small.to_csv(buffer)
    buffer.seek(0)
    with MetricsStore(tmp_path / "copy.db") as copy:
        assert copy.add(read_csv(buffer)) == small.count()
        assert copy.totals() == small.totals()
        assert copy.engagement() == small.engagement()


def test_csv_layout(small: MetricsStore) -> None:
    """The header is CSV_COLUMNS; counts print without '.0', times as ISO 8601 UTC."""
    buffer = io.StringIO()
    small.to_csv(buffer, post_id="1", metric="likes")
    rows = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert tuple(rows[0]) == CSV_COLUMNS
    first = dict(zip(CSV_COLUMNS, rows[1], strict=True))
    assert first["value"] == "10"
    assert first["available"] == "true"
    assert first["fetched_at"] == "2026-03-02T10:00:00+00:00"
    assert first["posted_at"] == "2026-03-02T09:00:00+00:00"
    assert len(rows) == 3


def test_csv_unavailable_row(small: MetricsStore) -> None:
    """An unavailable sample exports with an empty value, available=false and its reason."""
    buffer = io.StringIO()
    small.to_csv(buffer, metric="impressions", platform="x", post_id="2")
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert {(r["value"], r["available"], r["reason"]) for r in rows} == {
        ("", "false", "needs elevated access")
    }


def test_csv_quotes_awkward_text(store: MetricsStore) -> None:
    """Commas, quotes and newlines in names survive the round trip."""
    odd = MetricSample(
        platform="x",
        account="x:a",
        post_id='1,"2"\n3',
        metric="likes",
        value=0.1,
        fetched_at=at(1),
        campaign="a,b",
    )
    store.add([odd])
    buffer = io.StringIO()
    store.to_csv(buffer)
    buffer.seek(0)
    assert read_csv(buffer) == [odd]


def test_read_csv_missing_column() -> None:
    """A CSV without brandkit's columns is refused, naming what is missing."""
    with pytest.raises(ConfigurationError, match="fetched_at"):
        read_csv(io.StringIO("platform,account,post_id,metric,raw_name,value,available,reason\n"))


def test_read_csv_bad_value_names_the_line(small: MetricsStore) -> None:
    """A bad cell is reported with its line number."""
    buffer = io.StringIO()
    small.to_csv(buffer)
    lines = buffer.getvalue().splitlines()
    cells = next(csv.reader([lines[2]]))
    cells[CSV_COLUMNS.index("value")] = "lots"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    lines[2] = out.getvalue().rstrip("\n")
    with pytest.raises(ConfigurationError, match="line 3"):
        read_csv(io.StringIO("\n".join(lines) + "\n"))


def test_dataframe(small: MetricsStore) -> None:
    """to_dataframe() has the CSV columns with real dtypes (skipped without pandas)."""
    pd = pytest.importorskip("pandas")
    frame = small.to_dataframe()
    assert list(frame.columns) == list(CSV_COLUMNS)
    assert len(frame) == len(small_samples())
    assert str(frame["fetched_at"].dt.tz) == "UTC"
    assert frame["value"].dtype == "float64"
    assert frame["available"].dtype == bool
    likes = frame[(frame.post_id == "1") & (frame.metric == "likes")].sort_values("fetched_at")
    assert likes["value"].tolist() == [10.0, 30.0]
    assert likes["fetched_at"].iloc[1] == pd.Timestamp(at(34))
    gone = frame[~frame["available"]]
    assert len(gone) == 2 and gone["value"].isna().all()
    follower_rows = frame[frame.metric == "followers"]
    assert follower_rows["post_id"].isna().all() and follower_rows["posted_at"].isna().all()


def test_dataframe_without_pandas(small: MetricsStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pandas, to_dataframe() says how to install it."""
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'brandkit\[pandas\]'"):
        small.to_dataframe()


def test_read_csv_takes_a_file_saved_with_a_byte_order_mark(
    small: MetricsStore, tmp_path: Path
) -> None:
    """Excel saves "CSV UTF-8" with a byte order mark; read_csv said the file was not a
    brandkit CSV (missing column platform). A path and an open text file both read."""
    buffer = io.StringIO()
    small.to_csv(buffer)
    path = tmp_path / "edited.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    back = read_csv(path)
    assert sorted(back, key=_key) == sorted(small_samples(), key=_key)
    with path.open(encoding="utf-8", newline="") as handle:
        assert sorted(read_csv(handle), key=_key) == sorted(small_samples(), key=_key)


@pytest.mark.parametrize("value", ["-5", "nan", "1e400"])
def test_read_csv_names_the_line_of_a_value_no_metric_can_have(
    small: MetricsStore, value: str
) -> None:
    """A number that no count can be (an edited cell) was refused without its line, in a
    file of perhaps a million lines; the message now starts with it."""
    buffer = io.StringIO()
    small.to_csv(buffer)
    lines = buffer.getvalue().splitlines()
    cells = next(csv.reader([lines[4]]))
    cells[CSV_COLUMNS.index("value")] = value
    cells[CSV_COLUMNS.index("available")] = "true"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    lines[4] = out.getvalue().rstrip("\n")
    with pytest.raises(ConfigurationError, match=r"^line 5: metric '\w+' of .* got value"):
        read_csv(io.StringIO("\n".join(lines) + "\n"))


def test_read_csv_refuses_a_file_that_is_not_utf8(small: MetricsStore, tmp_path: Path) -> None:
    """A CSV re-saved in a legacy encoding (Excel's "CSV" on Windows is cp1252) raised
    UnicodeDecodeError; it is a ConfigurationError saying to save it as UTF-8."""
    buffer = io.StringIO()
    small.to_csv(buffer)
    path = tmp_path / "edited.csv"
    path.write_text(buffer.getvalue().replace("launch", "lançamento"), encoding="cp1252")
    with pytest.raises(ConfigurationError, match=r"not UTF-8 .*CSV UTF-8"):
        read_csv(path)


def test_read_csv_refuses_a_huge_cell_naming_its_line(small: MetricsStore) -> None:
    """A cell past the csv module's field limit (a broken quote swallowing the rest of the
    file) raised csv.Error; it is a ConfigurationError naming where it starts."""
    buffer = io.StringIO()
    small.to_csv(buffer)
    lines = buffer.getvalue().splitlines()
    lines[3] = lines[3] + ',"' + "x" * 200_000
    with pytest.raises(ConfigurationError, match=r"^line 4: .*field larger"):
        read_csv(io.StringIO("\n".join(lines) + "\n"))
