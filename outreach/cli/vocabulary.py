"""The words the command line's options are spelled with, one meaning each.

Every option of every command is spelled from this list, and a spelling
means the same thing wherever it appears: ``--out`` is always the file or
folder a command writes, ``--format`` always what its output looks like,
``--org`` always an organization by acronym, ``--tag`` always repeatable,
``--yes`` always "do not ask", ``--force`` always "override this safety
check", a date or a time is always read by :mod:`outreach.cli.when`.
``tests/cli/test_vocabulary.py`` walks every command and fails on a
spelling outside the list, on a spelling used with another kind of value,
and on a hidden option that is not a renamed spelling
(:func:`outreach.cli.options.renamed`) or one of :data:`HIDDEN`.

Nothing is imported here: the list is data, read by the test and the docs.
"""

from __future__ import annotations

#: Options every command shares, or nearly.
COMMON = {
    "--db": "the database: a SQLite file or a postgresql:// URL",
    "--as": "who is acting, for the activity log",
    "--wait": "how long a write waits for another command's lock",
    "--verbose": "say more of what is being done (-v, -vv)",
    "--quiet": "say only what went wrong (-q)",
    "--version": "the version of outreach",
    "--help": "the command's help",
    "--format": "what the output looks like (table, csv, json; file formats for files)",
    "--out": "the file or folder the command writes, instead of standard output",
    "--yes": "do not ask for confirmation (-y)",
    "--force": "override a safety check (replace a file, archive what is referred to)",
    "--dry-run": "show what would change and change nothing",
}

#: Whom and what a command is about.
SUBJECTS = {
    "--org": "an organization, by acronym (repeatable where several make sense)",
    "--campaign": "a campaign, by slug",
    "--dialogue": "a UN dialogue, by slug",
    "--contact": "a contact, by id or e-mail address",
    "--cc": "a contact copied on the letters",
    "--letter": "a letter, by id",
    "--template": "a letter template, by name",
    "--followup-template": "the template of a campaign's reminders",
    "--templates": "the folder of the user's letter templates",
    "--tag": "a tag (repeatable: with any of them, or the whole list on edit)",
    "--add-tag": "a tag to add (repeatable)",
    "--remove-tag": "a tag to remove (repeatable)",
    "--parent": "the organization whose organs are meant",
    "--region": "a region (africa, americas, asia-pacific, europe, mena, global)",
    "--kind": "the kind of an organization or a contact",
    "--language": "a language, ISO 639-1 (en, fr, es, ar, ru, zh, pt)",
    "--languages": "an organization's working languages",
    "--status": "a status to keep (of campaigns or letters)",
    "--round": "a round of letters (0 for the first letter, 1 for the first reminder)",
    "--channel": "how a letter goes or a reply came (email, post, fax, hand, phone)",
    "--stance": "what a reply says to the ask (commitment, supportive, ...)",
    "--search": "text to look for (-s)",
    "--archived": "include archived records",
    "--superseded": "include superseded versions of letters",
    "--ignored": "include messages set aside",
    "--all": "every record matching the filters, rather than ids",
    "--entity": "a kind of record, or one record (letter:42)",
    "--actor": "who made a change",
    "--action": "a kind of change (create, update, send, ...)",
    "--limit": "at most this many",
    "--local": "the settings file of this folder, not the user's",
    "--read-only": "a role that reads and may not write",
}

#: Dates, times and spans (read by outreach.cli.when).
WHEN = {
    "--date": "a day (the letters' date, a dialogue's date)",
    "--starts-on": "a campaign's first day",
    "--ends-on": "a campaign's last day",
    "--on": "the day something happened",
    "--since": "from this day or moment on",
    "--until": "before this moment",
    "--received": "when a reply arrived",
    "--as-of": "the moment a report is computed for",
    "--after": "a span of silence (14d)",
    "--overdue-after": "a span after which a letter is overdue (21d)",
}

#: The fields of directory records, campaigns and dialogues.
FIELDS = {
    "--name": "a name (a contact's, an organization's full name)",
    "--acronym": "an organization's acronym",
    "--title": "a title (of a dialogue, of a campaign)",
    "--position": "a contact's position",
    "--salutation": "how a letter to the contact opens",
    "--honorific": "the honorific before a contact's name (H.E.)",
    "--email": "an e-mail address",
    "--phone": "a telephone number",
    "--postal-address": "a postal address",
    "--website": "a website",
    "--hq-city": "an organization's seat",
    "--hq-country": "the country of an organization's seat",
    "--notes": "free notes",
    "--reason": "why, in words",
    "--primary": "the organization's main addressee",
    "--not-primary": "not the main addressee",
    "--do-not-contact": "never write to this contact",
    "--may-contact": "the contact may be written to",
    "--name-in": "a name in another language",
    "--acronym-in": "an acronym in another language",
    "--definite-in": "a name with its article in another language",
    "--position-in": "a position in another language",
    "--salutation-in": "a salutation in another language",
    "--theme": "a dialogue's theme",
    "--un-body": "the UN body holding a dialogue",
    "--report-symbol": "the symbol of the Secretary-General's report",
    "--states-spoke": "how many states spoke at a dialogue",
    "--regional-orgs-spoke": "how many regional organizations spoke",
    "--civil-society-spoke": "how many civil society organizations spoke",
    "--outcome-notes": "what came of a dialogue",
    "--signatory": "who signs the letters",
    "--signatory-title": "the signatory's title",
    "--signatory-title-in": "the signatory's title in another language",
    "--sender-name": "the sender's name",
    "--sender-organization": "the sending organization",
    "--sender-organization-in": "the sending organization in another language",
    "--sender-address": "the sender's postal address",
    "--sender-address-in": "the sender's address in another language",
    "--sender-email": "the sender's e-mail address",
    "--sender-phone": "the sender's telephone",
    "--sender-website": "the sender's website",
    "--sender-place": "the place the letters are signed in",
    "--sender-place-in": "the place in another language",
    "--reference-pattern": "how letters' reference numbers are made",
    "--vars": "a file of campaign variables",
    "--set": "a campaign variable, NAME=VALUE",
    "--unset": "a campaign variable to remove",
    "--summary": "what a reply says, in a line or two",
    "--subject": "the subject of a message",
    "--message-id": "the Message-ID of a message",
    "--attach": "a file to attach to a reply",
}

#: What a command does, in its own words.
ACTIONS = {
    # letters
    "--followup": "reminders rather than first letters",
    "--combined": "one file holding every letter",
    "--docx-template": "a Word letterhead to put the letters in",
    "--paper": "the paper size (a4, letter)",
    "--window-envelope": "place the address for a window envelope",
    "--no-window-envelope": "no window envelope",
    "--duplex": "printed on both sides",
    "--no-duplex": "printed on one side",
    "--override": "a letter whose failed check is overridden",
    "--change-channel": "letters made for another channel really went this way",
    "--body": "print a letter's text too",
    "--no-body": "not its text",
    # sending
    "--send": "really send (without it, a dry run)",
    "--show": "print the messages that would go",
    "--html": "an HTML part beside the text",
    "--rate": "how fast to send (30/min)",
    "--retry-failed": "send again the letters whose sending failed",
    "--failures-csv": "a file listing the letters that failed, beside the result",
    "--from": "who a message is from (an address, or who signed a reply)",
    "--from-name": "the name the sender's address shows",
    "--reply-to": "where replies go",
    "--bcc": "a blind copy of every message",
    "--smtp-host": "the SMTP server",
    "--smtp-port": "its port",
    "--smtp-security": "how to secure the connection to it",
    "--smtp-user": "the user to log in as",
    "--smtp-timeout": "how long to wait for it",
    # mailboxes
    "--host": "the IMAP server",
    "--port": "its port",
    "--ssl": "connect over TLS",
    "--starttls": "connect, then STARTTLS",
    "--no-tls": "connect without TLS (local servers only)",
    "--user": "the user to log in as",
    "--password-command": "a command that prints the password",
    "--folder": "a mailbox folder (INBOX, Sent)",
    "--move-to": "a mailbox folder to move messages to",
    "--own": "an address of ours, whose messages are not replies",
    # imports, recipients, responses
    "--input-format": "the format of the file read",
    "--sheet": "the sheet of a workbook to read",
    "--encoding": "the text encoding of the file read",
    "--map": "a column heading of the file, and the field it holds",
    "--map-file": "a file of such headings",
    "--on-match": "what to do with a row matching an existing record",
    "--skip-invalid": "import the good rows, set the bad ones aside",
    "--rejects": "where the rows set aside go, beside the result",
    "--with-organs": "the organs of each organization too",
    "--replace": "exactly these, rather than in addition",
    "--new-contact": "make the sender a new contact",
    "--with-directory": "load the shipped directory",
    "--allow-missing": "write a backup even though files it names are missing",
}

#: Every spelling and its one meaning.
VOCABULARY: dict[str, str] = {**COMMON, **SUBJECTS, **WHEN, **FIELDS, **ACTIONS}

#: Spellings that must take one kind of value wherever they appear.
KINDS = {
    "--out": "path",
    "--tag": "repeatable",
    "--yes": "flag",
    "--force": "flag",
    "--dry-run": "flag",
    "--date": "day",
    "--starts-on": "day",
    "--ends-on": "day",
    "--on": "day",
    "--since": "moment",
    "--until": "moment",
    "--received": "moment",
    "--as-of": "moment",
    "--after": "span",
    "--overdue-after": "span",
}

#: Exceptions to :data:`KINDS`, each with its reason: (command, spelling).
KIND_EXCEPTIONS = {
    ("responses fetch", "--since"): "IMAP searches by day (SINCE), not by moment",
}

#: Hidden options that are not old spellings.
HIDDEN = {
    "--wait": "the global option, accepted after the command too; said once in `outreach --help`",
    "--retry-delay": "a test hook: the pause between SMTP retries",
}

#: Short options, each standing for one long spelling.
SHORT = {"-o": "--out", "-y": "--yes", "-s": "--search", "-v": "--verbose", "-q": "--quiet",
         "-h": "--help"}  # fmt: skip
