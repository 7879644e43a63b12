"""The unmatched queue, workable: a queued message shown with its decoded
text and its attachments; assigning it can take its sender in as a contact."""

from __future__ import annotations

import json

import sqlalchemy as sa

from outreach.schema.models import Contact, InboundMessage, InboundStatus, Response

from ._fixtures import PDF, mail, sent_campaign, write_mbox


def _queued(db, run, tmp_path, frm="Lucía Pérez <lucia.perez@sica.int>"):
    sent_campaign(db)
    msg = mail(
        frm,
        "Respuesta",
        "Estimados señores:\n\nLa Secretaría participará en el diálogo.\n",
        mid="<queued@sica.int>",
        attachments=[
            ("carta firmada.pdf", "application/pdf", PDF),
            ("nota.txt", "text/plain", "Nota verbal nº 12\n".encode()),
        ],
    )
    run("responses", "import", write_mbox(tmp_path / "q.mbox", [msg]))
    with db.session() as session:
        return session.scalars(sa.select(InboundMessage.id)).one()


def test_unmatched_show_prints_the_text_and_the_attachments(db, run, tmp_path):
    msg_id = _queued(db, run, tmp_path)
    listed = json.loads(run("responses", "unmatched", "--format", "json").stdout)
    assert [m["msg"] for m in listed] == [msg_id]

    shown = run("responses", "unmatched", "show", msg_id).stdout
    assert "La Secretaría participará en el diálogo." in shown  # decoded, accents kept
    assert "attachment  carta firmada.pdf (application/pdf, " in shown
    assert "attachment  nota.txt (text/plain, " in shown
    assert "Respuesta" in shown and "shared by PARLACEN, SICA" in shown

    record = json.loads(
        run("responses", "unmatched", "show", "<queued@sica.int>", "--format", "json").stdout
    )
    assert record["msg"] == msg_id and record["status"] == "unmatched"
    assert [a["filename"] for a in record["attachments"]] == ["carta firmada.pdf", "nota.txt"]
    assert record["attachments"][0]["size"] == len(PDF)
    assert "participará" in record["text"]

    missing = run("responses", "unmatched", "show", "999", expect=1)
    assert "no imported message 999" in missing.stderr


def test_assign_with_new_contact_takes_the_sender_in(db, run, tmp_path):
    msg_id = _queued(db, run, tmp_path)
    result = run("responses", "assign", str(msg_id), "--org", "SICA", "--new-contact")
    assert f"Message {msg_id} is now response 1 from SICA" in result.stdout
    assert "Added Lucía Pérez as contact #" in result.stdout
    with db.session() as session:
        contact = session.scalars(
            sa.select(Contact).where(Contact.email == "lucia.perez@sica.int")
        ).one()
        assert contact.name == "Lucía Pérez" and contact.organization.acronym == "SICA"
        response = session.get(Response, 1)
        assert response.contact_id == contact.id
        assert sorted(a.filename for a in response.attachments) == [
            "carta firmada.pdf",
            "nota.txt",
        ]
        assert session.get(InboundMessage, msg_id).status == InboundStatus.ASSIGNED


def test_assign_new_contact_refuses_a_known_address(db, run, tmp_path):
    msg_id = _queued(db, run, tmp_path)
    # Meanwhile someone added her to the directory.
    with db.session() as session:
        org_id = session.scalars(
            sa.select(Contact.organization_id).where(Contact.email == "sica@sica.int")
        ).one()
        session.add(Contact(organization_id=org_id, name="L. Pérez", email="lucia.perez@sica.int"))
    result = run("responses", "assign", str(msg_id), "--org", "SICA", "--new-contact", expect=1)
    assert "lucia.perez@sica.int is already contact" in result.stderr
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Response)) == 0
    # Without --new-contact it is assigned to the known contact.
    run("responses", "assign", str(msg_id), "--org", "SICA")


def test_assign_new_contact_with_a_name(db, run, tmp_path):
    msg_id = _queued(db, run, tmp_path, frm="lucia.perez@sica.int")
    run(
        "responses", "assign", str(msg_id), "--org", "SICA", "--new-contact",
        "--name", "Lucía Pérez Gómez",
    )  # fmt: skip
    with db.session() as session:
        names = session.scalars(
            sa.select(Contact.name).where(Contact.email == "lucia.perez@sica.int")
        ).all()
    assert names == ["Lucía Pérez Gómez"]
