"""Backup and restore: a complete, versioned, portable archive of a database.

- :mod:`.archive`: the zip file's layout, its manifest, reading it back
  safely (checksums, safe member paths).
- :mod:`.codec`: how each column's values are written and read back, the
  same on every backend.
- :mod:`.write`: :func:`backup`, from one consistent snapshot.
- :mod:`.restore`: :func:`restore`, into an empty database, in one
  transaction, upgrading an archive from an older schema.
"""

from __future__ import annotations

from outreach.backup.archive import FORMAT_VERSION, Archive, ArchiveError, read_manifest
from outreach.backup.restore import RestoreResult, restore
from outreach.backup.write import BackupResult, attachments_folder, backup

__all__ = [
    "FORMAT_VERSION",
    "Archive",
    "ArchiveError",
    "BackupResult",
    "RestoreResult",
    "attachments_folder",
    "backup",
    "read_manifest",
    "restore",
]
