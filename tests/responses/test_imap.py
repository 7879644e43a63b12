"""`responses fetch`: replies read over IMAP from a real Dovecot, each
imported once, the mailbox left as it was (or moved from when asked), and
the server's refusals said in one line."""

from __future__ import annotations

import json

import sqlalchemy as sa

from outreach.schema.models import InboundMessage, MailboxState, Response

from ..conftest import row_counts
from ._fixtures import PDF, mail, sent_campaign


def _replies(mids: dict[str, str]) -> list[bytes]:
    return [
        mail(
            "Office of the Secretary-General <sg@gcc-sg.org>",
            "Re: Informal interactive dialogue",
            "The Secretary-General will take part.",
            mid="<imap-r1@gcc-sg.org>",
            in_reply_to=mids["GCC"],
            attachments=[("reply-GCC.pdf", "application/pdf", PDF)],
        ).as_bytes(),
        mail(
            "sg@oas.org",
            "Diálogo sobre la responsabilidad de proteger",
            "La Secretaría General participará.",
            mid="<imap-r2@oas.org>",
        ).as_bytes(),
        mail("Prize desk <win@lottery.example>", "You have WON", "Claim now.", mid="<spam@x>")
        .as_bytes(),
    ]


def _fetch(run, box, *args, expect=0, env=None):
    return run(
        "responses", "fetch", "--host", box.host, "--port", box.port, "--no-tls",
        "--user", box.user, *args,
        expect=expect,
        env={"OUTREACH_IMAP_PASSWORD": box.password, **(env or {})},
    )  # fmt: skip


def test_fetch_imports_once_and_leaves_the_mailbox_as_it_was(db, db_url, run, mailbox):
    seeded = sent_campaign(db)
    first, second, spam = _replies(seeded["mids"])
    mailbox.deliver(first, "first")  # as the server's delivery agent leaves it
    mailbox.append("INBOX", second, flags=("\\Seen",))  # already read in a mail client
    mailbox.append("INBOX", spam)
    before = mailbox.state()
    assert len(before) == 3

    result = _fetch(run, mailbox)
    assert "Fetched 3 new message(s)" in result.stdout
    assert "2 matched, 1 unmatched" in result.stdout and "0 already imported" in result.stdout
    with db.session() as session:
        responses = {r.message_id: r for r in session.scalars(sa.select(Response))}
        assert set(responses) == {"<imap-r1@gcc-sg.org>", "<imap-r2@oas.org>"}
        assert responses["<imap-r1@gcc-sg.org>"].organization.acronym == "GCC"
        assert [a.filename for a in responses["<imap-r1@gcc-sg.org>"].attachments] == [
            "reply-GCC.pdf"
        ]
        state = session.scalars(sa.select(MailboxState)).one()
        assert state.account == f"{mailbox.user}@{mailbox.host}:{mailbox.port}"
        assert (state.folder, state.last_uid) == ("INBOX", 3)
    # Nothing marked read, nothing moved: the mailbox is as it was.
    assert mailbox.state() == before

    counts = row_counts(db_url)
    again = _fetch(run, mailbox)
    assert "Fetched 0 new message(s)" in again.stdout
    assert {k: v for k, v in row_counts(db_url).items() if k != "mailbox_state"} == {
        k: v for k, v in counts.items() if k != "mailbox_state"
    }

    # A new message arrives: only it is fetched.
    mailbox.append("INBOX", mail("x@unknown.example", "Later", "Hi.", mid="<later@x>").as_bytes())
    rows = json.loads(_fetch(run, mailbox, "--format", "json").stdout)["messages"]
    assert [r["subject"] for r in rows] == ["Later"]
    assert mailbox.state() == {**before, b"Message-ID: <later@x>": ()}


def test_fetch_moves_imported_messages_when_asked(db, run, mailbox):
    seeded = sent_campaign(db)
    for i, data in enumerate(_replies(seeded["mids"])):
        mailbox.deliver(data, f"m{i}")
    mailbox.append("Imported", mail("a@b.example", "old", "old", mid="<old@b>").as_bytes())

    result = _fetch(run, mailbox, "--move-to", "Imported")
    assert "moved 3 to Imported" in result.stdout
    assert mailbox.state("INBOX") == {}
    assert len(mailbox.state("Imported")) == 4
    # A folder that is not there is refused before anything is read.
    missing = _fetch(run, mailbox, "--move-to", "Nowhere", expect=1)
    assert "--move-to: no folder 'Nowhere'" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_renumbered_folder_is_read_again_without_importing_twice(db, run, mailbox):
    seeded = sent_campaign(db)
    replies = _replies(seeded["mids"])
    for data in replies:
        mailbox.append("Replies", data)
    _fetch(run, mailbox, "--folder", "Replies")
    with db.session() as session:
        old_validity = session.scalars(sa.select(MailboxState.uidvalidity)).one()

    # The folder is deleted and made again (as a server migration does):
    # new UIDVALIDITY, the same messages plus one.
    client = mailbox.client()
    client.delete_folder("Replies")
    client.logout()
    for data in [*replies, mail("n@new.example", "New", "New.", mid="<new@n>").as_bytes()]:
        mailbox.append("Replies", data)

    result = _fetch(run, mailbox, "--folder", "Replies")
    assert "Fetched 4 new message(s)" in result.stdout
    assert "3 already imported" in result.stdout
    assert "read from the start" in result.stdout
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Response)) == 2
        assert session.scalar(sa.select(sa.func.count()).select_from(InboundMessage)) == 4
        state = session.scalars(sa.select(MailboxState)).one()
        assert state.uidvalidity != old_validity and state.last_uid == 4


def test_since_passes_older_messages_over(db, run, mailbox):
    import datetime as dt

    old = mail("a@old.example", "Old", "x", mid="<o@x>").as_bytes()
    mailbox.append("INBOX", old)
    client = mailbox.client()
    client.append("INBOX", mail("b@x.example", "Older", "y", mid="<p@x>").as_bytes(),
                  msg_time=dt.datetime(2001, 1, 1, tzinfo=dt.UTC))  # fmt: skip
    client.logout()
    rows = json.loads(
        _fetch(run, mailbox, "--since", "2020-01-01", "--format", "json").stdout
    )["messages"]
    assert [r["subject"] for r in rows] == ["Old"]


def test_wrong_password_is_one_line(db, run, mailbox):
    result = _fetch(run, mailbox, expect=1, env={"OUTREACH_IMAP_PASSWORD": "not-it"})
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "refused the login of" in lines[0] and mailbox.user in lines[0]
    assert "Traceback" not in result.output


def test_unreachable_server_is_one_line(db, run):
    from ..imapserver import free_port

    port = free_port()  # nobody listens there
    result = run(
        "responses", "fetch", "--host", "127.0.0.1", "--port", port, "--no-tls",
        "--user", "u", expect=1, env={"OUTREACH_IMAP_PASSWORD": "x"},
    )  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"--host: cannot reach the IMAP server 127.0.0.1:{port}" in lines[0]


def test_no_password_is_one_line(db, run, mailbox):
    result = run(
        "responses", "fetch", "--host", mailbox.host, "--port", mailbox.port,
        "--user", mailbox.user, expect=1, env={"OUTREACH_IMAP_PASSWORD": ""},
    )  # fmt: skip
    assert "no IMAP password" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_password_command(db, run, mailbox, tmp_path):
    mailbox.append("INBOX", mail("a@b.example", "Hi", "x", mid="<pc@x>").as_bytes())
    script = tmp_path / "pw.sh"
    script.write_text(f"#!/bin/sh\necho '{mailbox.password}'\n")
    script.chmod(0o700)
    result = _fetch(
        run, mailbox, "--password-command", str(script), env={"OUTREACH_IMAP_PASSWORD": "wrong"}
    )
    assert "Fetched 1 new message(s)" in result.stdout
    # run as a program with its words, never through a shell
    failing = _fetch(run, mailbox, "--password-command", "sh -c 'exit 3'", expect=1)
    assert "--password-command: the password command: sh failed (exit status 3)" in failing.stderr


def test_starttls_and_implicit_tls(db, run, tls_mailbox):
    box = tls_mailbox
    box.append("INBOX", mail("a@b.example", "Over TLS", "x", mid="<tls@x>").as_bytes())
    base = ["responses", "fetch", "--host", box.host, "--user", box.user]
    env = {"OUTREACH_IMAP_PASSWORD": box.password, "SSL_CERT_FILE": str(box.server.cert)}
    result = run(*base, "--port", box.port, "--starttls", env=env)
    assert "Fetched 1 new message(s)" in result.stdout
    # Implicit TLS (the default) on the server's other port: another account key.
    result = run(*base, "--port", box.server.ssl_port, "--format", "json", env=env)
    fetched = json.loads(result.stdout)
    assert fetched["messages"] == [] and fetched["already_imported"] == 1  # the same message
    # A certificate nobody vouches for is refused, in one line.
    untrusted = run(*base, "--port", box.server.ssl_port, expect=1,
                    env={"OUTREACH_IMAP_PASSWORD": box.password})  # fmt: skip
    assert "certificate is not trusted" in untrusted.stderr
    assert len(untrusted.stderr.strip().splitlines()) == 1


def test_fetch_takes_the_server_from_the_settings(db, run, mailbox):
    """Host, port, security, login and folder come from the settings (here the
    environment; a config file works the same way) when no option names them."""
    mailbox.append("INBOX", mail("a@b.example", "Hi", "x", mid="<set-1@x>").as_bytes())
    settings = {
        "OUTREACH_IMAP_HOST": mailbox.host,
        "OUTREACH_IMAP_PORT": str(mailbox.port),
        "OUTREACH_IMAP_SECURITY": "none",
        "OUTREACH_IMAP_USER": mailbox.user,
        "OUTREACH_IMAP_PASSWORD": mailbox.password,
    }
    result = run("responses", "fetch", env=settings)
    assert "Fetched 1 new message(s)" in result.stdout
    assert f"{mailbox.user}@{mailbox.host}:{mailbox.port} INBOX" in result.stdout
    missing = run("responses", "fetch", expect=1)
    assert "no IMAP host: give --host, or set it once" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_fetch_logs_in_with_an_oauth2_token(db, run, mailbox):
    """Microsoft 365 and Gmail take no password any more: with a token command
    set, the login is SASL XOAUTH2 with the token it prints (checked here by
    Dovecot's own OAuth2 passdb against a token introspection endpoint)."""
    mailbox.append("INBOX", mail("a@b.example", "Hi", "x", mid="<oauth-1@x>").as_bytes())
    base = ["responses", "fetch", "--host", mailbox.host, "--port", mailbox.port, "--no-tls",
            "--user", mailbox.user]  # fmt: skip
    good = {"OUTREACH_IMAP_OAUTH_TOKEN_COMMAND": f"echo {mailbox.token}"}
    result = run(*base, env=good)
    assert "Fetched 1 new message(s)" in result.stdout
    log = mailbox.server.log()
    assert f"user=<{mailbox.user}>, method=XOAUTH2" in log
    bad = run(*base, env={"OUTREACH_IMAP_OAUTH_TOKEN_COMMAND": "echo expired"}, expect=1)
    assert "refused the login" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert "expired" not in bad.stderr  # the token is never shown


def test_sent_letters_are_filed_in_the_sent_folder_once(db, run, mailbox):
    """`letters copy-to-sent`: each e-mail letter that went, rebuilt as it
    went, dated when it went and marked read; a second run files nothing."""
    from ..mailfixtures import seed_campaign, start_server

    ids = seed_campaign(db, letters=3)["letters"]
    smtp = start_server()
    try:
        run("letters", "send", "--campaign", "iid-2012", "--send", *smtp.argv())
        received = {r.message_id: r.data for r in smtp.recorder.received}
    finally:
        smtp.controller.stop()
    base = ["letters", "copy-to-sent", "--campaign", "iid-2012", "--host", mailbox.host,
            "--port", mailbox.port, "--no-tls", "--user", mailbox.user]  # fmt: skip
    env = {"OUTREACH_IMAP_PASSWORD": mailbox.password}
    first = run(*base, env=env)
    assert "3 letter(s) filed in" in first.stdout and "Sent, 0 there already" in first.stdout
    again = run(*base, env=env)
    assert "0 letter(s) filed" in again.stdout and "3 there already" in again.stdout
    filed = mailbox.state("Sent")
    assert len(filed) == 3 and all(flags == (b"\\Seen",) for flags in filed.values())
    with db.session() as session:
        from outreach.schema.models import Letter

        mids = {session.get(Letter, i).message_id for i in ids}
    assert {head.split(b":", 1)[1].strip().decode() for head in filed} == mids
    assert set(received) == mids
