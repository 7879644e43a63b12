"""Every response test gets its own attachments store (``store_dir``, autouse)."""

from ._fixtures import store_dir  # noqa: F401
