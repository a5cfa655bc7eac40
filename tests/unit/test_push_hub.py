"""The push hub: each user's pages get their own state and pops, supervisors
the wallboard, a new page (reload, second tab) the whole picture first, and a
page that falls behind is closed rather than slowing the others."""
import threading

import pytest

from agent_console.push import Hub, Stream, StreamClosed, Viewer

ANN = Viewer(1, "ann", "agent")
BOB = Viewer(2, "bob", "agent")
SUE = Viewer(3, "sue", "supervisor")


def drain(stream: Stream) -> list[tuple[str, object]]:
    items = []
    while (item := stream.get(0)) is not None:
        items.append(item)
    return items


def kinds(stream: Stream) -> list[str]:
    return [kind for kind, _ in drain(stream)]


def test_a_new_page_gets_hello_and_an_empty_pop():
    hub = Hub(clock=lambda: 100.0)
    items = drain(hub.open(ANN))
    assert items == [("hello", {"user": "ann", "role": "agent", "now": 100.0}), ("pop", None)]


def test_a_pop_goes_to_its_agent_alone_and_every_tab_of_theirs():
    hub = Hub()
    ann1, ann2, bob, sue = hub.open(ANN), hub.open(ANN), hub.open(BOB), hub.open(SUE)
    for s in (ann1, ann2, bob, sue):
        drain(s)
    hub.set_pop("ann", {"linkedid": "1.1", "caller": "+15551230001"})
    assert drain(ann1) == drain(ann2) == [("pop", {"linkedid": "1.1", "caller": "+15551230001"})]
    assert drain(bob) == [] and drain(sue) == []


def test_a_reload_gets_the_current_pop_and_state():
    hub = Hub()
    hub.agent_changed("ann", {"agent": "ann", "state": "on_call"})
    hub.set_pop("ann", {"linkedid": "1.1"})
    items = dict(drain(hub.open(ANN)))
    assert items["agent"]["state"] == "on_call" and items["pop"] == {"linkedid": "1.1"}


def test_update_pop_only_changes_the_same_call():
    hub = Hub()
    hub.set_pop("ann", {"linkedid": "1.1", "phase": "ringing"})
    assert hub.update_pop("ann", "9.9", phase="talking") is None
    assert hub.update_pop("ann", "1.1", phase="talking")["phase"] == "talking"
    assert hub.pop_of("ann") == {"linkedid": "1.1", "phase": "talking"}
    assert hub.pops_about("1.1") == ["ann"]


def test_agent_states_go_to_the_agent_and_supervisors_once():
    hub = Hub()
    sue_as_agent = Viewer(3, "sue", "supervisor")
    ann, bob, sue = hub.open(ANN), hub.open(BOB), hub.open(sue_as_agent)
    for s in (ann, bob, sue):
        drain(s)
    hub.agent_changed("ann", {"agent": "ann", "state": "ready"})
    hub.agent_changed("sue", {"agent": "sue", "state": "ready"})
    assert kinds(ann) == ["agent"] and kinds(bob) == []
    assert kinds(sue) == ["agent", "agent"]  # ann's, and her own once


def test_the_board_reaches_supervisors_and_new_supervisor_pages():
    hub = Hub()
    ann, sue = hub.open(ANN), hub.open(SUE)
    drain(ann), drain(sue)
    hub.set_board({"queues": []})
    assert kinds(ann) == [] and kinds(sue) == ["board"]
    assert "board" in kinds(hub.open(SUE))
    assert "board" not in kinds(hub.open(ANN))


def test_logging_out_forgets_the_state():
    hub = Hub()
    hub.agent_changed("ann", {"agent": "ann", "state": "ready"})
    hub.agent_changed("ann", {"agent": "ann", "state": "logged_out"})
    assert hub.agent_of("ann") is None
    assert "agent" not in kinds(hub.open(ANN))


def test_a_page_that_falls_behind_is_closed_not_the_others():
    hub = Hub()
    slow, fast = hub.open(ANN), hub.open(ANN)
    drain(fast)
    slow.limit = 5
    for n in range(10):
        hub.set_pop("ann", {"linkedid": str(n)})
        drain(fast)
    assert slow.closed and hub.dropped >= 1
    with pytest.raises(StreamClosed):
        drain(slow)
    hub.close(slow)
    assert hub.connected() == 1


def test_get_waits_for_the_next_event_from_another_thread():
    hub = Hub()
    stream = hub.open(ANN)
    drain(stream)
    threading.Timer(0.05, hub.set_pop, ("ann", {"linkedid": "2.2"})).start()
    assert stream.get(5) == ("pop", {"linkedid": "2.2"})
    assert stream.get(0.01) is None  # quiet: the caller sends a heartbeat


def test_close_all_wakes_every_waiting_page():
    hub = Hub()
    stream = hub.open(ANN)
    drain(stream)
    threading.Timer(0.05, hub.close_all).start()
    with pytest.raises(StreamClosed):
        stream.get(5)
    assert hub.connected() == 0


def test_notices_reach_supervisors_now_and_later():
    hub = Hub()
    ann, sue = hub.open(ANN), hub.open(SUE)
    drain(ann), drain(sue)
    hub.notice({"message": "recording store full"})
    assert kinds(ann) == [] and drain(sue) == [("notice", {"message": "recording store full"})]
    assert ("notice", {"message": "recording store full"}) in drain(hub.open(SUE))
    assert "notice" not in kinds(hub.open(ANN))
