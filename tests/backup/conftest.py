"""Fixtures for every backup test: its own attachments folder (autouse), a
fresh PostgreSQL database, an archive and a target database."""

from ._fixtures import _attachments_dir, archive_and_target, pg_url  # noqa: F401
