"""Which pops an ACD call event changes, and how (pure): the agent's own call,
a caller who hangs up, and a transfer that touches two agents' pops."""
from agent_console.feeds import pop_changes

NOW = 100.0


def test_answer_hold_and_end_change_the_agents_pop():
    assert pop_changes("answered", {"agent": "ann", "waited": 2.5}, NOW) == [
        ("ann", {"phase": "talking", "answered_at": NOW, "waited": 2.5})]
    assert pop_changes("held", {"agent": "ann"}, NOW) == [("ann", {"phase": "on_hold"})]
    assert pop_changes("resumed", {"agent": "ann"}, NOW) == [("ann", {"phase": "talking"})]
    assert pop_changes("ended", {"agent": "ann"}, NOW) == [
        ("ann", {"phase": "ended", "ended_at": NOW})]


def test_a_caller_who_hangs_up_while_ringing_touches_every_pop_of_the_call():
    assert pop_changes("abandoned", {"waited": 3}, NOW) == [
        (None, {"phase": "abandoned", "ended_at": NOW})]


def test_events_without_a_pop_change():
    for event in ("queued", "ringing", "key", "dialling", "no-callback"):
        assert pop_changes(event, {"agent": "ann"}, NOW) == []


def test_a_blind_transfer_leaves_the_first_agent_transferred():
    payload = {"agent": "ann", "kind": "queue", "target": "sales", "to_agent": None}
    assert pop_changes("transfer", payload, NOW) == [
        ("ann", {"phase": "transferred", "ended_at": NOW,
                 "transfer": {"kind": "queue", "target": "sales", "to_agent": None}})]
    assert pop_changes("ended", {"agent": "ann", "transferred": True}, NOW) == [
        ("ann", {"phase": "transferred", "ended_at": NOW})]


def test_an_attended_transfer_moves_the_call_from_one_pop_to_the_other():
    consult = {"agent": "ann", "kind": "agent", "target": "bob", "to_agent": "bob"}
    (first,) = pop_changes("consulting", consult, NOW)
    assert first[0] == "ann" and first[1]["phase"] == "consulting"
    answered = dict(pop_changes("consult-answered", consult, NOW))
    assert answered["ann"]["phase"] == "consulting"
    assert answered["bob"] == {"phase": "talking", "answered_at": NOW}
    done = dict(pop_changes("transferred", {"agent": "bob", "from_agent": "ann",
                                            "kind": "agent", "target": "bob"}, NOW))
    assert done["ann"] == {"phase": "transferred", "ended_at": NOW}
    assert done["bob"]["phase"] == "talking" and done["bob"]["answered_at"] == NOW


def test_a_cancelled_consultation_returns_the_first_agent_to_the_caller():
    changes = dict(pop_changes("transfer-cancelled", {"agent": "ann", "to_agent": "bob",
                                                      "kind": "agent", "target": "bob"}, NOW))
    assert changes["ann"] == {"phase": "talking", "transfer": None}
    assert changes["bob"] == {"phase": "ended", "ended_at": NOW}


def test_a_transfer_to_a_number_completed_leaves_no_new_pop():
    assert pop_changes("transferred", {"agent": None, "from_agent": "ann", "kind": "number",
                                       "target": "+15551230009"}, NOW) == [
        ("ann", {"phase": "transferred", "ended_at": NOW})]
