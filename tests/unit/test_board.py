"""The wallboard view of an ACD snapshot: figures per queue and agent, and
alerts when a service level falls below its target."""
from agent_console import board


def queue(**over):
    base = {"waiting": 0, "ringing": 0, "callbacks_waiting": 0, "longest_wait": 0.0,
            "staffed": 2, "ready": 1,
            "interval": {"service_level": 0.9, "sl_target": 0.8, "sl_seconds": 20.0,
                         "asa": 4.2, "abandon_rate": 0.05, "offered": 10, "answered": 9,
                         "abandoned": 1, "aht": 120.0},
            "day": {"service_level": 0.85, "offered": 50, "answered": 47}}
    for key, value in over.items():
        if key in ("interval",):
            base["interval"] = {**base["interval"], **value}
        else:
            base[key] = value
    return base


def snapshot(**queues):
    return {"at": 1000.0, "tz": "UTC", "queues": queues,
            "agents": {"counts": {"ready": 1, "on_call": 1},
                       "list": [{"agent": "ann", "seat": "1001", "state": "on_call",
                                 "presence": "on_call", "reason": "", "since": 990.0,
                                 "call_id": "7.7"},
                                {"agent": "bob", "seat": "1002", "state": "ready",
                                 "presence": "ready", "reason": "", "since": 900.0,
                                 "call_id": None}]}}


def test_a_healthy_queue_raises_no_alert():
    view = board.view(snapshot(sales=queue()))
    (row,) = view["queues"]
    assert row["queue"] == "sales" and row["service_level"] == 0.9 and row["sl_target"] == 0.8
    assert row["offered_day"] == 50 and not row["alerting"] and view["alerts"] == []


def test_service_level_below_target_alerts():
    view = board.view(snapshot(support=queue(interval={"service_level": 0.62})))
    assert view["queues"][0]["alerting"]
    assert view["alerts"] == ["support: service level 62% is below the target 80% this interval"]


def test_a_long_wait_alerts_before_the_level_drops():
    view = board.view(snapshot(sales=queue(waiting=2, longest_wait=31.0)))
    assert view["alerts"] == ["sales: a caller has waited 31 s, longer than 20 s"]


def test_callers_and_nobody_staffed_alerts():
    view = board.view(snapshot(sales=queue(waiting=3, staffed=0, longest_wait=3.0)))
    assert view["alerts"] == ["sales: 3 waiting and no agent logged in for it"]


def test_no_figures_yet_is_no_alert():
    view = board.view(snapshot(sales=queue(interval={"service_level": None})))
    assert view["alerts"] == [] and view["queues"][0]["service_level"] is None


def test_agents_show_who_they_talk_to():
    view = board.view(snapshot(sales=queue()), {"7.7": {"caller": "+15551230001",
                                                        "queue": "sales"}})
    ann, bob = view["agents"]
    assert (ann["agent"], ann["caller"], ann["queue"]) == ("ann", "+15551230001", "sales")
    assert bob["caller"] is None and view["counts"] == {"ready": 1, "on_call": 1}
