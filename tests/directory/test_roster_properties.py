"""Property tests for roster CSV files: any bytes, any header and rows (BOMs, quotes, NULs, many or
repeated columns) give a ``Roster`` or the documented ``ValidationError``, never another exception;
a generated valid roster, however it is quoted and laid out, parses to exactly its rows."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from classroom.errors import ValidationError
from classroom.people import MAX_NAME_CHARS
from classroom.roster import COLUMNS, MAX_ROSTER_COLUMNS, Roster, RosterRow, parse_roster

BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FIELDS = {"code", "name", "classroom", "course", "row"}

# --- strategies -----------------------------------------------------------------------------------

pieces = st.sampled_from([",", '"', '""', "\n", "\r\n", "\r", "\x00", "\ufeff", " ", "\t", "code", "name",
                          "classroom", "course", "CODE", "YN-000001", "yn-000002", "Li", "room-1", "é", "\ud800"])
csv_like = st.lists(pieces | st.text(max_size=5), max_size=80).map("".join)
"""Text built from the characters CSV cares about and the words a roster holds."""

header_names = st.sampled_from([*COLUMNS, "Code", " NAME ", "classroom ", "", "email", "code\x00", '"code"'])
cells = st.one_of(st.text(max_size=12), st.sampled_from(["YN-000001", "yn-000001", "ab", "room-1", "room 1", "",
                                                        " ", "x" * 200, "\x00", "a\nb", '"', "\ufeff"]))


@st.composite
def tables(draw: st.DrawFn) -> bytes:
    """A header of any known or unknown, repeated or missing columns (up to past the limit) and rows of
    any cells and lengths, written by the csv module (quoted as needed) or joined raw."""
    header = draw(st.lists(header_names, max_size=draw(st.sampled_from([6, MAX_ROSTER_COLUMNS + 3]))))
    rows = draw(st.lists(st.lists(cells, max_size=len(header) + 2), max_size=12))
    if draw(st.booleans()):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
        writer.writerows([header, *rows])
        text = out.getvalue()
    else:
        text = "\n".join(",".join(line) for line in [header, *rows])
    bom = draw(st.sampled_from(["", "\ufeff", "\ufeff\ufeff"]))
    return (bom + text).encode("utf-8", "surrogatepass")


def parses_or_refuses(data: bytes) -> Roster | ValidationError:
    try:
        roster = parse_roster(data)
    except ValidationError as exc:
        assert exc.message and len(exc.message) < 1000
        return exc
    numbers = [row.row for row in roster.rows]
    assert numbers == sorted(numbers) and all(n >= 1 for n in numbers)
    assert [e.row for e in roster.errors] == sorted(e.row for e in roster.errors)
    assert all(e.field in FIELDS and len(e.code) <= 64 for e in roster.errors)
    assert len({row.code for row in roster.rows}) == len(roster.rows)  # a code appears once at most
    assert not {row.row for row in roster.rows} & {e.row for e in roster.errors}
    return roster


# --- properties -----------------------------------------------------------------------------------


@BOUNDED
@given(data=st.binary(max_size=300))
def test_any_bytes_give_a_roster_or_a_validation_error(data: bytes) -> None:
    parses_or_refuses(data)


@BOUNDED
@given(text=csv_like, bom=st.booleans())
@example(text='code,name,classroom\nYN-000001,"' + "x" * 200_000 + '",room-1\n', bom=False)  # past csv's field limit
@example(text="code,name,classroom\n" + "YN-000001,Li,room-1\n" * 6000, bom=True)  # past MAX_ROSTER_ROWS
def test_any_csv_like_text_gives_a_roster_or_a_validation_error(text: str, bom: bool) -> None:
    parses_or_refuses(("\ufeff" if bom else "").encode() + text.encode("utf-8", "surrogatepass"))


@BOUNDED
@given(data=tables())
def test_any_header_and_rows_give_a_roster_or_a_validation_error(data: bytes) -> None:
    parses_or_refuses(data)


CODE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-"
codes = st.text(CODE_CHARS, min_size=6, max_size=32)
ids = st.tuples(st.sampled_from(CODE_CHARS[:-1]), st.text(CODE_CHARS + "._", max_size=63)).map("".join)
names = st.text(st.characters(exclude_categories=["Cs", "Cc"]).filter(lambda c: not 0x7F <= ord(c) <= 0x9F),
                min_size=1, max_size=MAX_NAME_CHARS).map(str.strip).filter(bool)
student_rows = st.tuples(codes, names, ids, st.none() | ids)


@st.composite
def valid_rosters(draw: st.DrawFn) -> tuple[bytes, list[RosterRow]]:
    """Distinct students in a header of any column order and case, quoted by the csv module (or always),
    with LF or CRLF lines and perhaps a byte-order mark; and the rows they must parse to."""
    students = draw(st.lists(student_rows, max_size=15, unique_by=lambda s: s[0].upper()))
    with_course = draw(st.booleans()) or any(course for *_, course in students)
    columns = draw(st.permutations(COLUMNS if with_course else COLUMNS[:3]))
    header = [draw(st.sampled_from([name, name.upper(), name.title()])) for name in columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])),
                        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])))
    writer.writerow(header)
    for code, name, classroom, course in students:
        cell = {"code": code, "name": name, "classroom": classroom, "course": course or ""}
        writer.writerow([cell[column] for column in columns])
    expected = [RosterRow(n, code.upper(), name, classroom, course or None)
                for n, (code, name, classroom, course) in enumerate(students, start=1)]
    return (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + out.getvalue().encode(), expected


@BOUNDED
@given(roster=valid_rosters())
def test_a_generated_valid_roster_parses_to_exactly_its_rows(roster: tuple[bytes, list[RosterRow]]) -> None:
    data, expected = roster
    parsed = parse_roster(data)
    assert parsed.errors == ()
    assert list(parsed.rows) == expected
