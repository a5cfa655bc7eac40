"""The engine's history writer on a real database: snapshots, customer links,
and segments that arrive before their call's row."""
import asyncio
from datetime import datetime, timezone

from callcenter.history import CallHistory
from crm_core import customers, interactions
from cti.calls import Call

T0 = 1_763_900_000.0


def run(coro):
    return asyncio.run(coro)


def test_segments_wait_for_their_call_and_the_caller_is_identified(sessions):
    with sessions.begin() as s:
        ada = customers.create_customer(s, {"name": "Ada", "phones": ["+15551230001"]}).customer

    async def scenario():
        history = CallHistory(sessions)
        history.start()
        started = datetime.fromtimestamp(T0, timezone.utc)
        # The IVR's path may be reported before the writer has the call's row.
        history.record_segment("L1", "ivr", started, detail={"path": ["main", "sales"]})
        history.on_call_changed(Call("L1", "inbound", T0, caller_number="+15551230001"), "started")
        history.on_call_changed(Call("L1", "inbound", T0, caller_number="+15551230001",
                                     ended_at=T0 + 5, status="completed"), "ended")
        history.record_link("L1", "voicemail", "voicemail/L1.wav")
        await history.flush(timeout=10)
        await history.stop()

    run(scenario())
    with sessions() as s:
        row = interactions.by_linkedid(s, "L1")
        assert row.customer_id == ada.id and row.status == "completed"
        assert [seg.detail for seg in interactions.segments_of(s, row.id)] == [
            {"path": ["main", "sales"]}]
        assert [link.ref for link in interactions.links_of(s, row.id)] == ["voicemail/L1.wav"]


def test_a_segment_of_a_call_that_never_comes_is_dropped_not_blocking(sessions, caplog):
    async def scenario():
        history = CallHistory(sessions)
        history.start()
        history._extras.append(("nope", "segment", ("ivr", datetime.now(timezone.utc)),
                                {"ended_at": None, "detail": {}}, 49))
        history._idle.clear()
        history._wakeup.set()
        await history.flush(timeout=10)
        await history.stop()

    run(scenario())
    assert "dropped a segment of nope" in caplog.text
