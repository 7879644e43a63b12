"""Which column is which field: aliases in English, Spanish, French and
Portuguese (any case, with or without accents), and saved mapping files
(TOML or YAML) beside --map."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from outreach.directory import get_contact, get_organization
from outreach.directory.importing import CONTACT_ALIASES, ORG_ALIASES, import_file
from outreach.directory.importing.columns import _check_aliases, header_key
from outreach.errors import ValidationError
from outreach.schema.models import Contact

from ..conftest import table_dump

CONTACT_HEADERS = {
    "es": "Organización,Nombre,Cargo,Correo electrónico,Teléfono,Idioma,Dirección,Notas",
    "fr": "Organisation,Nom,Fonction,Adresse électronique,Téléphone,Langue,Adresse postale,"
    "Remarques",
    "pt": "Organização,Nome,Cargo,E-mail,Telefone,Língua,Endereço,Observações",
    "shouting": "ORGANIZACION,NOMBRE,CARGO,CORREO ELECTRONICO,TELEFONO,IDIOMA,DIRECCION,NOTAS",
}
ROW = 'AU,Amina Diallo,Directrice,amina@example.org,+251 11 551 7700,fr,"Roosevelt St, Addis",n\n'


@pytest.mark.parametrize("language", sorted(CONTACT_HEADERS))
def test_contact_headers_in_other_languages(orgs, tmp_path, language):
    path = tmp_path / f"{language}.csv"
    path.write_text(CONTACT_HEADERS[language] + "\n" + ROW, encoding="utf-8")
    with orgs.session() as s:
        assert import_file(path, session=s, kind="contact").created == 1
    with orgs.session() as s:
        amina = get_contact(s, "amina@example.org")
        assert (amina.organization.acronym, amina.position, amina.language) == (
            "AU",
            "Directrice",
            "fr",
        )
        assert (amina.phone, amina.postal_address, amina.notes) == (
            "+251 11 551 7700",
            "Roosevelt St, Addis",
            "n",
        )


def test_organization_headers_in_other_languages(db, tmp_path):
    path = tmp_path / "orgs.csv"
    path.write_text(
        "Sigla,Nombre completo,Tipo,Región,Sede,País,Idiomas,Sitio web\n"
        'SICA,Sistema de la Integración Centroamericana,regional,americas,San Salvador,SV,"es",'
        "https://sica.int\n",
        encoding="utf-8",
    )
    french = tmp_path / "orgs-fr.csv"
    french.write_text(
        "Sigle,Nom,Type,Région,Siège,Pays,Langues,Site web\n"
        "CEEAC,Communauté économique des États de l'Afrique centrale,sub-regional,africa,"
        "Libreville,GA,fr,https://ceeac-eccas.org\n",
        encoding="utf-8",
    )
    with db.session() as s:
        assert import_file(path, session=s, kind="organization").created == 1
        assert import_file(french, session=s, kind="organization").created == 1
    with db.session() as s:
        sica = get_organization(s, "SICA")
        assert (sica.hq_city, sica.hq_country, sica.languages) == ("San Salvador", "SV", ["es"])
        assert get_organization(s, "CEEAC").hq_city == "Libreville"


def test_no_header_means_two_fields():
    _check_aliases(ORG_ALIASES)
    _check_aliases(CONTACT_ALIASES)
    assert header_key("Correo Electrónico") == header_key("correo electronico")
    assert header_key("ORGANIZAÇÃO") == "organizacao"
    assert header_key("Œuvre") == "oeuvre"


def test_a_header_in_another_script_is_an_unknown_column_not_an_empty_one(orgs, tmp_path):
    path = tmp_path / "ar.csv"
    path.write_text("organization,name,الهاتف\nAU,Desk,123\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info, orgs.session() as s:
        import_file(path, session=s, kind="contact")
    assert info.value.problems[0].startswith(f"{path}:1: الهاتف: unknown column")
    with orgs.session() as s:
        import_file(path, session=s, kind="contact", mapping={"الهاتف": "phone"})
    with orgs.session() as s:
        assert s.scalar(sa.select(Contact.phone)) == "123"


def test_columns_of_our_own_json_lists_are_ignored(orgs, tmp_path):
    path = tmp_path / "listed.csv"
    path.write_text(
        "id,organization,name,created_at,updated_at\n7,AU,Desk,2012-01-01,2012-01-02\n",
        encoding="utf-8",
    )
    with orgs.session() as s:
        assert import_file(path, session=s, kind="contact").created == 1


SHEET = "Entidad,Nombre completo,Correo,Ref. interna\nAU,Amina Diallo,amina@example.org,R-17\n"


@pytest.mark.parametrize(
    ("suffix", "text"),
    [
        (".toml", '[columns]\n"Nombre completo" = "name"\n"Ref. interna" = "-"\n'),
        (".yaml", 'columns:\n  Nombre completo: name\n  "Ref. interna": "-"\n'),
        (".yml", "columns:\n  nombre COMPLETO: name\n  Ref. interna: null\n"),
    ],
)
def test_map_file(orgs, tmp_path, run, suffix, text):
    data = tmp_path / "sheet.csv"
    data.write_text(SHEET, encoding="utf-8")
    mapping = tmp_path / f"mapping{suffix}"
    mapping.write_text(text, encoding="utf-8")
    out = run("contacts", "import", data, "--map-file", mapping).stdout
    assert "1 created" in out
    with orgs.session() as s:
        assert get_contact(s, "amina@example.org").name == "Amina Diallo"


def test_map_option_wins_over_the_map_file(orgs, tmp_path, run):
    data = tmp_path / "sheet.csv"
    data.write_text(SHEET, encoding="utf-8")
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\n"Nombre completo" = "name"\n"Ref. interna" = "notes"\n')
    run("contacts", "import", data, "--map-file", mapping, "--map", "ref. INTERNA=-")
    with orgs.session() as s:
        assert get_contact(s, "amina@example.org").notes is None


BAD_MAP_FILES = {
    "unknown-field.toml": (
        '[columns]\n"Nombre completo" = "nmae"\n',
        "[columns] 'Nombre completo' = 'nmae': no contact field is called that; fields: ",
    ),
    "not-in-file.toml": (
        '[columns]\n"Nombre completo" = "name"\n"Apellido" = "name"\n',
        "column 'Apellido' is not in {data} (its columns: Entidad, Nombre completo, Correo, "
        "Ref. interna); correct or remove it in the mapping file",
    ),
    "not-toml.toml": ("[columns\n", "not valid TOML ("),
    "unquoted.toml": ("[columns]\nNombre completo = name\n", "not valid TOML ("),
    "no-table.toml": ('"Nombre completo" = "name"\n', "no [columns] table"),
    "extra.toml": ('[columns]\n"A" = "name"\n[colums]\n', "unknown key 'colums'"),
    "number.toml": ('[columns]\n"Nombre completo" = 3\n', 'give a field name, or "-"'),
    "dotted.toml": ('[columns]\nRef.interna = "-"\n', "not a table (a header holding a dot?"),
    "twice.yaml": (
        "columns:\n  Correo: email\n  CORREO: email\n",
        "[columns] 'CORREO' names the same column as 'Correo'",
    ),
    "bad.yaml": ("columns: [\n", "not valid YAML at line"),
    "list.yaml": ("- columns\n", "no [columns] table"),
    "nul.toml": ('[columns]\n"Nom\\u0000bre" = "name"\n', "column 'Nom\\x00bre' is not in"),
    "bidi.yaml": (
        'columns:\n  "\\u202eApellido": name\n',
        "column '\\u202eApellido' is not in",
    ),
    "mapping.json": ('{"columns": {}}', "a mapping file is TOML (.toml) or YAML (.yaml, .yml)"),
    "huge.toml": ("#" * 1_000_001, "is too large for a mapping file"),
    "latin1.toml": ('[columns]\n"Dirección" = "postal_address"\n'.encode("latin-1"), "not UTF-8"),
}


@pytest.mark.parametrize("name", sorted(BAD_MAP_FILES))
def test_bad_map_files_are_one_line_errors_naming_the_file(orgs, tmp_path, db_url, run, name):
    data = tmp_path / "sheet.csv"
    data.write_text(SHEET, encoding="utf-8")
    text, expected = BAD_MAP_FILES[name]
    mapping = tmp_path / name
    if isinstance(text, bytes):
        mapping.write_bytes(text)
    else:
        mapping.write_text(text, encoding="utf-8")
    before = table_dump(db_url)
    result = run("contacts", "import", data, "--map-file", mapping, expect=1)
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: --map-file: {mapping}: "), line
    assert expected.format(data=data) in line, line
    assert "\x00" not in line and "\u202e" not in line
    assert table_dump(db_url) == before


def test_missing_map_file(orgs, tmp_path, run):
    data = tmp_path / "sheet.csv"
    data.write_text(SHEET, encoding="utf-8")
    result = run("contacts", "import", data, "--map-file", tmp_path / "nope.toml", expect=1)
    assert result.stderr.strip() == f"Error: --map-file: {tmp_path / 'nope.toml'}: no such file"


def test_map_file_for_json_and_xlsx(orgs, tmp_path, run):
    from ._xlsx import workbook

    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\n"Nombre completo" = "name"\n', encoding="utf-8")
    book = tmp_path / "c.xlsx"
    book.write_bytes(workbook([["Entidad", "Nombre completo"], ["AU", "Desk A"]]))
    assert "1 created" in run("contacts", "import", book, "--map-file", mapping).stdout
    doc = tmp_path / "c.json"
    doc.write_text('[{"organization": "AU", "Nombre completo": "Desk B"}]', encoding="utf-8")
    assert "1 created" in run("contacts", "import", doc, "--map-file", mapping).stdout
    doc.write_text('[{"organization": "AU", "name": "Desk C"}]', encoding="utf-8")
    result = run("contacts", "import", doc, "--map-file", mapping, expect=1)
    assert "column 'Nombre completo' is not in" in result.stderr
    card = tmp_path / "c.vcf"
    card.write_text("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:X\r\nORG:AU\r\nEND:VCARD\r\n")
    result = run("contacts", "import", card, "--map-file", mapping, expect=1)
    assert "a column mapping is for CSV, XLSX and JSON files" in result.stderr
