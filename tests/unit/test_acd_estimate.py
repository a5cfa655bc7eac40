"""The estimated wait announced to callers: position * AHT / staffed agents."""
import pytest

from acd.estimate import estimated_wait, wait_minutes


@pytest.mark.parametrize("position, staffed, aht, expected", [
    (1, 1, 120.0, 120.0),
    (3, 2, 120.0, 180.0),
    (10, 4, 300.0, 750.0),
    (0, 3, 90.0, 0.0),
    (5, 5, 0.0, 0.0),
])
def test_estimated_wait(position, staffed, aht, expected):
    assert estimated_wait(position, staffed, aht) == pytest.approx(expected)


def test_no_estimate_without_staff_or_aht():
    assert estimated_wait(2, 0, 120.0) is None
    assert estimated_wait(2, 3, None) is None


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        estimated_wait(-1, 2, 60.0)
    with pytest.raises(ValueError):
        estimated_wait(1, 2, -60.0)


@pytest.mark.parametrize("seconds, minutes", [(None, None), (0, 1), (59, 1), (60, 1), (61, 2),
                                              (750.0, 13)])
def test_wait_minutes_rounds_up_to_at_least_one(seconds, minutes):
    assert wait_minutes(seconds) == minutes
