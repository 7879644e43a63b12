"""Helpers for the batch commands (contact imports, letter generation)."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a block.

    A batch makes hundreds of thousands of small objects and no cycles:
    the collections their allocation would trigger cost up to a tenth of the
    run and free nothing. The collector's earlier state comes back after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
