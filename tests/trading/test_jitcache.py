"""The compiled account's disk cache follows every source compiled into it, not just its file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trading.backtest import account, jitcache


def test_a_change_to_an_inlined_source_changes_the_cache_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in jitcache._SOURCES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(jitcache._ROOT / name, tmp_path / name)
    monkeypatch.setattr(jitcache, "_ROOT", tmp_path)
    jitcache.source_digest.cache_clear()
    before = jitcache.source_digest()
    with (tmp_path / "waterfill.py").open("a") as source:
        source.write("\n# an edit to the solver only\n")
    jitcache.source_digest.cache_clear()
    after = jitcache.source_digest()
    jitcache.source_digest.cache_clear()
    assert before != after


def test_compiled_account_functions_are_filed_under_the_digest() -> None:
    digest = jitcache.source_digest()
    for dispatcher in (account.account, account._split_order, account._route_split, account._rate):
        assert dispatcher.py_func.__qualname__.endswith(f"_{digest}")


def test_the_original_python_function_is_left_untouched() -> None:
    from trading.waterfill import split_order

    assert split_order.__qualname__ == "split_order"
