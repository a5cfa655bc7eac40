"""Erlang C against the issue's reference table (A = 10 Erlangs, AHT 180 s, t = 20 s),
the staffing question planners ask, numerical stability and refused inputs."""
import math

import pytest

from acd.erlang import (agents_for, average_speed_of_answer, erlang_b, erlang_c, occupancy,
                        service_level, traffic_intensity, wait_probability)

AHT = 180.0
TRAFFIC = traffic_intensity(100 / 1800, AHT)  # 100 calls per 30 minutes

# agents: (P(wait), ASA seconds, SL(20 s)) as printed in the issue
REFERENCE = {
    11: (0.6821, 122.8, 0.3896),
    12: (0.4494, 40.4, 0.6402),
    13: (0.2853, 17.1, 0.7956),
    14: (0.1741, 7.84, 0.8884),
    15: (0.1020, 3.67, 0.9415),
}


def printed_digits(value: float) -> int:
    """Decimals shown in the issue's table: 122.8 -> 1, 7.84 -> 2, 0.6821 -> 4."""
    text = repr(value)
    return len(text.split(".")[1]) if "." in text else 0


def test_traffic_intensity_is_calls_per_second_times_aht():
    assert TRAFFIC == pytest.approx(10.0)
    assert traffic_intensity(0, 180) == 0.0


@pytest.mark.parametrize("agents", sorted(REFERENCE))
def test_reference_table(agents):
    wait, asa, sl = REFERENCE[agents]
    assert round(wait_probability(agents, TRAFFIC), printed_digits(wait)) == wait
    assert round(average_speed_of_answer(agents, TRAFFIC, AHT), printed_digits(asa)) == asa
    assert round(service_level(agents, TRAFFIC, AHT, 20), printed_digits(sl)) == sl
    assert occupancy(agents, TRAFFIC) == pytest.approx(10 / agents)


def test_erlang_c_bundles_the_figures():
    figures = erlang_c(13, TRAFFIC, AHT, 20)
    assert figures.agents == 13 and figures.sl_seconds == 20
    assert figures.wait_probability == wait_probability(13, TRAFFIC)
    assert figures.asa == average_speed_of_answer(13, TRAFFIC, AHT)
    assert figures.service_level == service_level(13, TRAFFIC, AHT, 20)
    assert figures.occupancy == pytest.approx(10 / 13)


def test_erlang_b_matches_the_closed_form_for_small_systems():
    traffic, agents = 3.5, 6
    terms = [traffic ** k / math.factorial(k) for k in range(agents + 1)]
    assert erlang_b(agents, traffic) == pytest.approx(terms[-1] / sum(terms), rel=1e-12)


def test_erlang_c_matches_the_textbook_formula_for_small_systems():
    traffic, agents = 3.5, 6
    top = traffic ** agents / math.factorial(agents) * agents / (agents - traffic)
    below = sum(traffic ** k / math.factorial(k) for k in range(agents)) + top
    assert wait_probability(agents, traffic) == pytest.approx(top / below, rel=1e-12)


def test_large_centres_stay_finite():
    """5,000 agents: the factorial formula would overflow; the recursion does not."""
    wait = wait_probability(5000, 4900)
    assert 0.0 < wait < 1.0
    assert service_level(5000, 4900, AHT, 20) == pytest.approx(1 - wait * math.exp(-100 * 20 / AHT))


def test_service_level_at_zero_seconds_is_the_share_answered_at_once():
    assert service_level(12, TRAFFIC, AHT, 0) == pytest.approx(1 - wait_probability(12, TRAFFIC))


def test_no_traffic_no_waiting():
    assert wait_probability(1, 0.0) == 0.0
    assert service_level(1, 0.0, AHT, 0) == 1.0


def test_agents_for_answers_the_planning_question():
    assert agents_for(0.8, 20, TRAFFIC, AHT) == 14  # 13 agents give 0.7956
    assert agents_for(0.795, 20, TRAFFIC, AHT) == 13
    assert agents_for(0.9, 20, TRAFFIC, AHT) == 15
    assert agents_for(0.01, 20, TRAFFIC, AHT) == 11  # never at or below the traffic
    assert agents_for(0.5, 20, 0.0, AHT) == 1


def test_agents_for_is_the_smallest_staffing_meeting_the_target():
    for traffic in (0.4, 2.0, 7.3, 55.0, 400.0):
        agents = agents_for(0.8, 20, traffic, AHT)
        assert service_level(agents, traffic, AHT, 20) >= 0.8
        if agents - 1 > traffic:
            assert service_level(agents - 1, traffic, AHT, 20) < 0.8


@pytest.mark.parametrize("call, message", [
    (lambda: wait_probability(10, TRAFFIC), "agents > traffic"),
    (lambda: wait_probability(9, TRAFFIC), "cannot carry"),
    (lambda: average_speed_of_answer(10, TRAFFIC, AHT), "agents > traffic"),
    (lambda: service_level(10, TRAFFIC, AHT, 20), "agents > traffic"),
    (lambda: occupancy(10, TRAFFIC), "agents > traffic"),
    (lambda: wait_probability(0, 0.5), "agents must be >= 1"),
    (lambda: wait_probability(12.0, TRAFFIC), "whole number"),
    (lambda: wait_probability(True, 0.5), "whole number"),
    (lambda: wait_probability(12, -1.0), "traffic must be >= 0"),
    (lambda: wait_probability(12, math.nan), "finite"),
    (lambda: wait_probability(12, "10"), "must be a number"),
    (lambda: average_speed_of_answer(12, TRAFFIC, 0), "aht must be > 0"),
    (lambda: service_level(12, TRAFFIC, AHT, -1), "seconds must be >= 0"),
    (lambda: traffic_intensity(-0.1, AHT), "arrival_rate must be >= 0"),
    (lambda: traffic_intensity(0.1, math.inf), "finite"),
    (lambda: agents_for(1.0, 20, TRAFFIC, AHT), "strictly between 0 and 1"),
    (lambda: agents_for(0.0, 20, TRAFFIC, AHT), "strictly between 0 and 1"),
    (lambda: agents_for(0.8, 20, TRAFFIC, -AHT), "aht must be > 0"),
    (lambda: agents_for(0.99, 20, TRAFFIC, AHT, max_agents=12), "no staffing up to 12"),
])
def test_bad_parameters_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
