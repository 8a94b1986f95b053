"""The benchmark's ratios (``bench.report``): paired by repeat, targets checked."""

from __future__ import annotations

import pytest

from bench.report import RATIOS, Ratio, misses, paired_ratio


def _case(*samples: float, queries: int = 1) -> dict[str, object]:
    ordered = sorted(samples)
    return {"median": ordered[len(ordered) // 2], "samples": list(samples), "queries": queries}


def test_a_ratio_is_the_median_of_the_repeats_own_ratios() -> None:
    # A slow spell in the second repeat hits only the numerator's sample:
    # the ratio of medians (30 / 12) would report it; the paired one does not.
    top, bottom = _case(10, 30, 31), _case(9, 12, 30)
    assert paired_ratio(top, bottom) == pytest.approx(10 / 9)
    assert Ratio("s", "x", "a", "b", 1.2).value({"a": top, "b": bottom}) == pytest.approx(10 / 9)


def test_repeats_must_pair_up() -> None:
    with pytest.raises(ValueError, match=r"shorter|longer"):
        paired_ratio(_case(1, 2, 3), _case(1, 2))


def test_missed_and_unmeasured_targets_are_reported() -> None:
    [refresh] = [
        ratio for ratio in RATIOS if ratio.numerator == "refresh/bearer" and ratio.target == 0.6
    ]
    measurements = {"refresh/bearer": _case(7, 7, 7), "refresh/simplejwt": _case(10, 10, 10)}
    [missed, *rest] = [
        miss
        for miss in misses([{"database": "sqlite", "measurements": measurements}])
        if miss.ratio is refresh
    ]
    assert missed.value == pytest.approx(0.7)
    assert rest == []
    measurements["refresh/bearer"] = _case(5, 6, 5)
    found = misses([{"database": "sqlite", "measurements": measurements}])
    assert refresh not in [miss.ratio for miss in found]
    # Not measured counts as missed.
    assert refresh in [miss.ratio for miss in misses([{"database": "x", "measurements": {}}])]
