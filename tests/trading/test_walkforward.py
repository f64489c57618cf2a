"""Walk-forward folds and selection on hand-made series."""

from __future__ import annotations

import numpy as np

from trading.backtest.walkforward import Fold, folds, out_of_sample, walk_forward


def test_folds_tile_the_history_after_the_first_in_sample_window() -> None:
    ts = np.arange("2024-01-01", "2024-01-11", dtype="datetime64[D]").astype("datetime64[h]")

    got = folds(ts, in_sample_days=4, out_of_sample_days=2)

    assert got == [Fold(0, 0, 4, 4, 6), Fold(1, 2, 6, 6, 8), Fold(2, 4, 8, 8, 10)]
    assert out_of_sample(10, got).tolist() == [False] * 4 + [True] * 6


def test_a_window_shorter_than_one_in_sample_window_has_no_folds() -> None:
    ts = np.arange("2024-01-01", "2024-01-03", dtype="datetime64[D]")
    assert folds(ts, 5, 1) == []


def test_each_fold_picks_on_its_in_sample_bars_and_keeps_only_out_of_sample_returns() -> None:
    net = np.zeros((8, 2))
    net[0:4, 0] = [0.01, 0.02, 0.01, 0.02]  # candidate 0 shines in sample ...
    net[0:4, 1] = [0.01, -0.01, 0.01, -0.01]
    net[4:6, 0] = [-0.05, -0.05]  # ... and fails out of sample
    net[4:6, 1] = [0.03, 0.03]
    chosen = [Fold(0, 0, 4, 4, 6)]

    picks, stitched = walk_forward(net, chosen)

    assert picks == [0]
    assert stitched.tolist() == [0, 0, 0, 0, -0.05, -0.05, 0, 0]
