"""`callcenter acd-plan`: the planner's question answered from the command line."""
from __future__ import annotations

import pytest

from callcenter import cli


def run(capsys, *args) -> tuple[int, list[str]]:
    code = cli.main(["acd-plan", *args])
    return code, capsys.readouterr().out.splitlines()


def test_the_issue_centre_needs_14_agents_for_80_percent_in_20_seconds(capsys):
    code, lines = run(capsys, "--calls", "100", "--aht", "180", "--agents", "11-15")
    assert code == 0
    assert lines[0].startswith("offered load: 10.00 Erlangs")
    rows = {int(line.split()[0]): line.split() for line in lines[2:7]}
    assert rows[11][1:4] == ["0.6821", "122.8", "0.3896"]
    assert rows[15][1:4] == ["0.1020", "3.7", "0.9415"]
    assert "<- needed" in lines[5] and lines[5].split()[0] == "14"
    assert lines[-1] == "acd_plan_agents: 14 agents for 80% within 20 s"


def test_simulated_columns_show_patience_cutting_waits(capsys):
    code, lines = run(capsys, "--calls", "100", "--aht", "180", "--agents", "11-11",
                      "--simulate", "3000", "--patience", "60")
    assert code == 0
    erlang_asa, simulated = float(lines[2].split()[2]), lines[2].split("|")[1].split()
    assert float(simulated[1]) < erlang_asa  # impatient callers leave: the line is shorter
    assert float(simulated[3]) > 0  # and some abandon


@pytest.mark.parametrize("args, message", [
    (["--agents", "5-9"], "cannot carry 10.00 Erlangs"),
    (["--agents", "15-11"], "--agents must look like"),
    (["--target", "1.5"], "--target must be between 0 and 1"),
])
def test_bad_plans_are_refused_with_a_reason(capsys, args, message):
    code, lines = run(capsys, "--calls", "100", "--aht", "180", *args)
    assert code == 2
    assert message in lines[0]
