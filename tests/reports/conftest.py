"""The report tests' database with the hand-computed campaign."""

from __future__ import annotations

import pytest

from outreach.db import Database

from ._fixtures import build_fixture


@pytest.fixture
def fixture_db(db: Database) -> Database:
    build_fixture(db)
    return db
