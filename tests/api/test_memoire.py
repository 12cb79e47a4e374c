"""Caches frozen out of the GC's way are still collected once replaced, even in a reference cycle."""

from __future__ import annotations

import gc
import weakref

from api.memoire import figer_caches


class _Pool:
    pass


def test_a_frozen_pool_in_a_cycle_is_collected_at_the_next_freeze():
    pool = _Pool()
    pool.moi = pool  # a reference cycle: reference counting alone never frees it
    alive = weakref.ref(pool)
    figer_caches()
    assert gc.get_freeze_count() > 0
    del pool
    gc.collect()  # a plain collection skips frozen objects
    assert alive() is not None
    figer_caches()  # the next cache update unfreezes, collects, freezes again
    assert alive() is None
    gc.unfreeze()
