"""XLSX workbooks in and out: cells read as the sheet shows them, problems by
sheet row, files that only look like workbooks refused in one line, limits,
formula injection on export, and export -> import changing nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
import zipfile

import pytest
import sqlalchemy as sa

from outreach.csvcells import restore_formula
from outreach.directory import get_contact
from outreach.directory.importing import import_file, xlsx
from outreach.schema.models import Contact

from ..conftest import table_dump
from ._xlsx import read_sheet, rewrite, workbook

HEADER = [
    "Organización",
    "Nombre",
    "Cargo",
    "Correo electrónico",
    "Téléphone",
    "Idioma",
    "Notas",
    "Principal",
]


def contacts_workbook() -> bytes:
    rows = [
        [],
        [None, None],
        HEADER,
        [
            "AU",
            "Amélie Ñúñez",
            "Directrice générale",
            "amelie@example.org",
            41227917000,
            "fr",
            dt.date(2012, 3, 20),
            True,
        ],
        [],
        [
            "ECOWAS",
            "أمينة الدالي",
            '="Director"&" of Peace"',
            "amina@example.org",
            None,
            "ar",
            1234.5,
            False,
        ],
        [" ", None, "  "],  # blank cells only: no record
        ["au", "王小明", "Officer", '=LOWER("XIAO@EXAMPLE.ORG")', "+86 10 6532 1234", "zh", "=1+1"],
    ]
    return workbook(
        {"Contactos": rows, "Otra hoja": [["not", "read"]]},
        cached={"C6": "Director of Peace", "D8": "xiao@example.org", "G8": 2},
        merged=["A1:C1"],
    )


def test_xlsx_cells_read_as_the_sheet_shows_them(orgs, tmp_path, run):
    path = tmp_path / "contactos.xlsx"
    path.write_bytes(contacts_workbook())
    result = run("contacts", "import", path)
    assert f"{path}: read sheet 'Contactos', the first of 2." in result.stdout
    assert "3 created" in result.stdout
    with orgs.session() as s:
        amelie = get_contact(s, "amelie@example.org")
        assert (amelie.organization.acronym, amelie.name, amelie.position) == (
            "AU",
            "Amélie Ñúñez",
            "Directrice générale",
        )
        assert amelie.phone == "41227917000"  # a whole number: no ".0"
        assert amelie.notes == "2012-03-20"  # a date: YYYY-MM-DD
        assert amelie.is_primary is True and amelie.language == "fr"
        amina = get_contact(s, "amina@example.org")
        assert amina.name == "أمينة الدالي"
        assert amina.position == "Director of Peace"  # the formula's saved value
        assert amina.notes == "1234.5" and amina.is_primary is False
        xiao = get_contact(s, "xiao@example.org")
        assert (xiao.name, xiao.organization.acronym, xiao.notes) == ("王小明", "AU", "2")
        assert xiao.phone == "+86 10 6532 1234"
        assert s.scalar(sa.select(sa.func.count()).select_from(Contact)) == 3


def test_xlsx_problems_name_the_sheet_rows(orgs, tmp_path, db_url, run):
    path = tmp_path / "bad.xlsx"
    rows = [
        [],
        ["Organisation", "Nom", "Fonction", "Courriel"],
        ["AU", "Amina Diallo", "Officer", "amina@example.org"],
        ["AU", "Kofi", "Officer", "kofi@@example.org"],
        ["AU", "Ref", "=#REF!", "ref@example.org"],
        ["AU", "Stray", "Officer", "stray@example.org", None, "a note"],
    ]
    path.write_bytes(workbook(rows, cached={"C5": "#REF!"}))
    before = table_dump(db_url)
    result = run("contacts", "import", path, expect=1)
    lines = result.stderr.splitlines()
    assert any(ln.startswith(f"{path}:4: Courriel: 'kofi@@example.org'") for ln in lines), lines
    assert (
        f"{path}:5: Fonction: the cell holds the spreadsheet error #REF!; correct its "
        "formula or type the value" in lines
    )
    assert (
        f"{path}:6: a value in column F, right of the last named column (D): give the "
        "column a header, or clear the cell" in lines
    )
    assert lines[-1].startswith(f"Error: {path}: 3 row(s) with problems")
    assert table_dump(db_url) == before


def test_sheet_option(orgs, tmp_path, run):
    path = tmp_path / "two.xlsx"
    contacts = [["organization", "name"], ["AU", "Office of the Legal Counsel"]]
    path.write_bytes(workbook({"Read me": [["Exported 2012"]], "Contacts": contacts}))
    result = run("contacts", "import", path, expect=1)
    assert f"{path}:1: Exported 2012: unknown column" in result.stderr
    out = run("contacts", "import", path, "--sheet", "contacts").stdout
    assert f"{path}: read sheet 'Contacts'." in out and "1 created" in out
    for hostile in ("Nope", "Contacts\x00", "'; DROP TABLE contacts; --", "x" * 5000):
        result = run("contacts", "import", path, "--sheet", hostile, expect=1)
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"Error: --sheet: {path}: no sheet ")
        assert line.endswith("its sheets: 'Read me', 'Contacts'") and len(line) < 400
    csv_file = tmp_path / "c.csv"
    csv_file.write_text("organization,name\nAU,Desk\n", encoding="utf-8")
    result = run("contacts", "import", csv_file, "--sheet", "Contacts", expect=1)
    assert result.stderr.startswith("Error: --sheet: ") and "only a workbook" in result.stderr
    result = run("contacts", "import", path, "--encoding", "cp1252", expect=1)
    assert "Error: --encoding: " in result.stderr and "no text encoding" in result.stderr


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return buf.getvalue()


def _bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/sharedStrings.xml", "w") as member:
            zeros = b"\0" * (1 << 24)
            for _ in range(17):  # 272 MiB of nothing, in about 270 KiB
                member.write(zeros)
    return buf.getvalue()


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
GOOD = workbook([["organization", "name"], ["AU", "Desk"]])

NOT_WORKBOOKS = {
    "renamed.xlsx": (
        b"organization,name\r\nAU,Desk\r\n",
        "is not an .xlsx workbook but text (a CSV file named .xlsx?); rename it .csv, or "
        "name its format csv (--from)",
    ),
    "bomb.xlsx": (_bomb, "MiB in 3 parts, far more than a directory of 100,000 rows needs"),
    "locked.xlsx": (
        OLE + "EncryptionInfo".encode("utf-16-le") + b"\0" * 100,
        "the workbook is password-protected (encrypted); open it in the spreadsheet "
        "program, remove the password",
    ),
    "old.xlsx": (OLE + "Workbook".encode("utf-16-le"), "is an Excel 97-2003 workbook (.xls)"),
    "book.xls": (OLE, "is an Excel 97-2003 workbook (.xls), which cannot be read: save it"),
    "calc.ods": (b"PK\x03\x04", "is an OpenDocument spreadsheet (.ods), which cannot be read"),
    "ods.xlsx": (
        _zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b""}),
        "is an OpenDocument file (.ods?), not an .xlsx workbook",
    ),
    "letter.xlsx": (
        _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}),
        "is a Word document, not an .xlsx workbook",
    ),
    "cut.xlsx": (GOOD[: len(GOOD) // 2], "the workbook is damaged or cut short"),
    "empty.xlsx": (b"", "the file is empty"),
    "noise.xlsx": (bytes(range(256)) * 4, "is not an .xlsx workbook (no ZIP archive)"),
    "broken-xml.xlsx": (
        rewrite(GOOD, {"xl/worksheets/sheet1.xml": lambda xml: xml[: len(xml) // 2]}),
        "the workbook cannot be read (",
    ),
    "binary.xlsx": (
        _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.bin": b"\0"}),
        "is an Excel binary workbook (.xlsb)",
    ),
}


@pytest.mark.parametrize("name", sorted(NOT_WORKBOOKS))
def test_files_that_are_not_real_workbooks_are_refused_in_one_line(
    orgs, tmp_path, db_url, run, name
):
    data, expected = NOT_WORKBOOKS[name]
    path = tmp_path / name
    path.write_bytes(data() if callable(data) else data)
    before = table_dump(db_url)
    started = time.perf_counter()
    result = run("contacts", "import", path, expect=1)
    assert time.perf_counter() - started < 30
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: {path}: "), line
    assert expected in line, line
    assert table_dump(db_url) == before


def test_renamed_csv_imports_with_from(orgs, tmp_path, run):
    path = tmp_path / "renamed.xlsx"
    path.write_bytes(b"organization,name\r\nAU,Desk\r\n")
    assert "1 created" in run("contacts", "import", path, "--input-format", "csv").stdout
    # and a workbook named .csv says what it is
    wrong = tmp_path / "book.csv"
    wrong.write_bytes(GOOD)
    result = run("contacts", "import", wrong, expect=1)
    assert result.stderr.strip() == (
        f"Error: {wrong}: is a ZIP archive (an .xlsx workbook?), not a text file; name it "
        ".xlsx, or name its format xlsx (--from)"
    )
    assert (
        "0 created, 0 updated, 1 unchanged"
        in run("contacts", "import", wrong, "--input-format", "xlsx").stdout
    )


def test_limits(orgs, tmp_path, db_url, run, monkeypatch):
    before = table_dump(db_url)
    monkeypatch.setattr(xlsx, "MAX_ROWS", 3)
    many = tmp_path / "many.xlsx"
    many.write_bytes(workbook([["organization", "name"], *(["AU", f"Desk {n}"] for n in range(4))]))
    result = run("contacts", "import", many, expect=1)
    assert result.stderr.strip() == (
        f"Error: {many}: more than 3 rows; split the sheet and import at most 3 rows at a time"
    )
    monkeypatch.setattr(xlsx, "MAX_ROWS", 100_000)
    long = tmp_path / "long.xlsx"
    # openpyxl cuts what it writes at 32,767 characters; a file it did not write may not
    data = workbook([["organization", "name", "notes"], ["AU", "Desk", "LONG"]])
    long.write_bytes(
        rewrite(data, {"xl/worksheets/sheet1.xml": lambda x: x.replace("LONG", "x" * 32_768)})
    )
    result = run("contacts", "import", long, expect=1)
    assert result.stderr.strip() == (
        f"Error: {long}:2: a cell of 32,768 characters, more than a spreadsheet cell holds "
        "(32,767): this is not directory data; nothing imported"
    )
    far = tmp_path / "far.xlsx"
    row = '<row r="999999999"><c r="A999999999" t="inlineStr"><is><t>AU</t></is></c></row>'
    far.write_bytes(
        rewrite(
            GOOD,
            {"xl/worksheets/sheet1.xml": lambda x: x.replace("</sheetData>", row + "</sheetData>")},
        )
    )
    started = time.perf_counter()
    result = run("contacts", "import", far, expect=1)
    assert time.perf_counter() - started < 30
    assert "rows numbered past 1,048,576" in result.stderr
    assert table_dump(db_url) == before


def test_xlsx_export_defuses_formulas(filled, run, tmp_path):
    import openpyxl

    path = tmp_path / "contacts.xlsx"
    run("contacts", "export", "-o", path)
    with zipfile.ZipFile(path) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet  # not one formula
    wb = openpyxl.load_workbook(path)  # formulas would read as "=..." with data_type "f"
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    csv_header = next(csv.reader(io.StringIO(run("contacts", "export").stdout)))
    assert header == csv_header
    rows = [dict(zip(header, (c for c in r), strict=True)) for r in ws.iter_rows(min_row=2)]
    evil = next(r for r in rows if r["email"].value == "evil@example.org")
    assert evil["name"].value == '=HYPERLINK("http://evil.example")'
    assert evil["position"].value == "-2+3"
    assert evil["phone"].value == "+234 9 314 7647"
    assert evil["notes"].value == "@SUM(A1)\nsecond line"
    for key in ("name", "position", "phone", "notes"):
        assert evil[key].data_type == "s" and evil[key].quotePrefix
    assert evil["email"].data_type == "s" and not evil["email"].quotePrefix
    for row in rows:
        for cell in row.values():
            assert cell.value is None or cell.data_type == "s"
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    widths = {col: ws.column_dimensions[col].width for col in "ABCDEFGH"}
    assert all(8 <= w <= 60 for w in widths.values()), widths
    name_col = openpyxl.utils.get_column_letter(header.index("name") + 1)
    assert widths[name_col] >= len("Office of the Chairperson of the Commission")


@pytest.mark.parametrize("group", ["contacts", "orgs"])
def test_xlsx_round_trip_changes_nothing(filled, run, db_url, tmp_path, group):
    path = tmp_path / f"{group}.xlsx"
    assert "Exported" in run(group, "export", "-o", path).stderr
    before = table_dump(db_url)
    out = run(group, "import", path).stdout
    assert "0 created, 0 updated" in out and "rejected" in out
    assert table_dump(db_url) == before
    # the workbook holds what the CSV export holds, cell for cell
    export = list(csv.reader(io.StringIO(run(group, "export").stdout)))
    width = len(export[0])
    sheet = [["" if v is None else v for v in row] for row in read_sheet(path.read_bytes())]
    assert [row + [""] * (width - len(row)) for row in sheet] == [
        [restore_formula(cell) for cell in row] for row in export
    ]


def test_xlsx_round_trip_into_an_empty_database(filled, run, tmp_path, empty_db_url):
    from outreach.db import Database

    path = tmp_path / "all.xlsx"
    run("contacts", "export", "--format", "xlsx", "-o", path)
    fresh = Database(empty_db_url, actor="tester")
    fresh.init()
    with fresh.session() as s:
        assert import_file(path, session=s, kind="contact").created == 6

    def snapshot(db):
        with db.session() as s:
            return sorted(
                (c.organization.acronym, c.name, c.email, c.position, c.phone, c.notes,
                 c.postal_address, tuple(c.tags), c.do_not_contact, c.do_not_contact_reason)
                for c in s.scalars(sa.select(Contact))
            )  # fmt: skip

    assert snapshot(fresh) == snapshot(filled)
    fresh.dispose()


def test_xlsx_export_to_standard_output_when_piped(filled, run):
    result = run("orgs", "export", "--format", "xlsx")
    assert result.stdout_bytes.startswith(b"PK\x03\x04")
    rows = read_sheet(result.stdout_bytes)
    assert rows[0][:2] == ("acronym", "name") or rows[0][:2] == ["acronym", "name"]
    assert {r[0] for r in rows[1:]} == {"AU", "ECOWAS"}


def test_every_formula_start_is_written_as_text():
    from outreach.csvcells import FORMULA_START
    from outreach.directory.exporting import _xlsx

    values = [start + "1+cmd|' /C calc'!A0" for start in FORMULA_START] + ["plain", "a=b"]
    data = _xlsx(["value"], [{"value": v} for v in values], "Test")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()
    import openpyxl

    ws = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    cells = [row[0] for row in ws.iter_rows(min_row=2)]
    assert [c.value for c in cells] == values
    assert all(c.data_type == "s" for c in cells)
    assert [c.quotePrefix for c in cells] == [True] * len(FORMULA_START) + [False, False]
