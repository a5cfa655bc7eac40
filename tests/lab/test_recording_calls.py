"""Call recording on real calls (issue 7): MixMonitor by policy, what each side
said on its own channel (told apart by the tone each side plays), a paused span
that holds silence and is audited, on-demand start and stop from the console,
queues that record nothing or a percentage, the consent announcement, a
click-to-dial call, disks that fill up, and the published file's later life
(compression, retention).  One lab and one engine for the module; short calls;
every test ends with no channel left."""
from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import timedelta

import pytest
import pytest_asyncio

from crm_core import audit, interactions
from crm_core.models import Recording
from recording.compress import compress_due
from recording.errors import RecordingError
from recording.finish import file_state
from recording.retention import run_retention

from .acd_support import CARE, SALES, SUPPORT, add_agent, originate_waiting_caller
from .conftest import make_sessions
from .recording_support import (FixedDraw, RecLab, channels_of, energies, fill, make_tone,
                                set_phone_tone, tiny_disk, window)

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]

POLICY = {"recording": {"defaults": {"mode": "none", "retention_days": 90},
                        "queues": {"care": {"mode": "all", "channels": "stereo",
                                            "retention_days": 30},
                                   "support": {"mode": "all", "channels": "mixed"},
                                   "sales": {"mode": "on_demand"}},
                        "outbound": {"mode": "all"}}}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rec(lab, tmp_path_factory):
    work = tmp_path_factory.mktemp("recording")
    sessions = make_sessions(work)
    alice = add_agent(sessions, "alice", {"care": 5, "support": 5, "sales": 5})
    add_agent(sessions, "bob", {"billing": 5})  # takes transfers only
    async with RecLab(lab, sessions, work, POLICY) as r:
        r.alice = alice
        yield r
    set_phone_tone(lab, "1001", None)


def use(rec: RecLab, **queues) -> None:
    """The module's policy with some queues changed (as a reload would)."""
    policy = {"recording": {**POLICY["recording"],
                            "queues": {**POLICY["recording"]["queues"], **queues}}}
    rec.use_policy(policy)
    rec.forget()


async def test_stereo_keeps_each_side_on_its_channel_and_a_pause_is_silence(lab, rec):
    use(rec)
    linkedid = await rec.talk(CARE, "+15557000001", agent_tone=6)
    await rec.event("recording.state", agent="alice", linkedid=linkedid, recording=True)
    assert rec.service.state("alice") == {"linkedid": linkedid, "recording": True,
                                          "paused": False, "mode": "all"}
    with pytest.raises(RecordingError, match="records by policy"):
        await rec.service.stop("alice")  # every call of care is recorded: not hers to stop
    with pytest.raises(RecordingError, match="not paused"):
        await rec.service.resume("alice")
    await asyncio.sleep(1.5)  # talk a little before the card number
    paused = await rec.service.pause("alice")
    assert paused["paused"] is True
    with pytest.raises(RecordingError, match="paused already"):
        await rec.service.pause("alice")
    await asyncio.sleep(2.0)  # the caller reads out the card number
    assert (await rec.service.resume("alice"))["paused"] is False
    await rec.ended(linkedid)

    (row,) = rec.rows(linkedid)
    path = rec.store.root / row.path
    assert (row.format, row.channels, row.status, row.kind) == ("wav", 2, "complete", "call")
    assert row.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() and row.size == \
        path.stat().st_size
    assert row.meta["queue"] == "care" and row.meta["agents"] == ["alice"]
    caller, agent = channels_of(path)
    assert abs(len(caller) / 8000 - row.duration) < 0.01 and row.duration > 4
    (span,) = row.paused
    start, end = span
    assert 1.0 < start < end and 1.0 < end - start < 3.0  # as Asterisk reported the mutes
    # Talking before the pause: the caller's 440 Hz left, the agent's 1000 Hz right.
    for side, mine, other in ((caller, "caller", "agent"), (agent, "agent", "caller")):
        before = energies(window(side, 0.3, start - 0.3))
        assert before[mine] > 1000 and before[other] < 0.02 * before[mine], (mine, before)
        after = energies(window(side, end + 0.3, end + 1.0))
        assert after[mine] > 1000, (mine, after)
        hushed = energies(window(side, start + 0.3, end - 0.3))
        assert hushed["rms"] < 5, (mine, hushed)  # silence, not the card number

    with rec.sessions() as s:
        interaction = interactions.by_linkedid(s, linkedid)
        (link,) = [li for li in interactions.links_of(s, interaction.id) if li.kind == "recording"]
        assert link.ref == row.path and link.meta["recording_id"] == row.id
        assert link.meta["sha256"] == row.sha256 and link.meta["channels"] == 2
        entries = [e for e in audit.history(s, "interaction", interaction.id)
                   if "recording_paused" in e.changes]
    assert [e.changes["recording_paused"] for e in entries] == [[False, True], [True, False]]
    assert all(e.user_id == rec.alice and e.changes["agent"] == "alice" for e in entries)
    assert entries[1].changes["span"] == [start, end]
    published = rec.events("recording.published", linkedid=linkedid)
    assert published[0]["recording_id"] == row.id and published[0]["paused"] == [[start, end]]
    assert rec.incoming_files() == []  # Asterisk's two files are gone once published
    states = [(e["recording"], e["paused"]) for e in rec.events("recording.state",
                                                                  linkedid=linkedid)]
    assert (True, True) in states and states[-1] == (False, False)


async def test_mixed_is_one_channel_with_both_sides(lab, rec):
    use(rec)
    linkedid = await rec.talk(SUPPORT, "+15557000002", agent_tone=4)
    await rec.ended(linkedid)
    (row,) = rec.rows(linkedid)
    assert (row.channels, row.meta["channels"]) == (1, "mixed")
    (mono,) = channels_of(rec.store.root / row.path)
    heard = energies(window(mono, 0.5, row.duration - 0.5))
    assert heard["caller"] > 500 and heard["agent"] > 500


async def test_on_demand_start_and_stop_from_the_console(lab, rec):
    use(rec)
    linkedid = await rec.talk(SALES, "+15557000003", agent_tone=7)
    await rec.event("recording.state", agent="alice", linkedid=linkedid, mode="on_demand")
    assert rec.service.state("alice")["recording"] is False
    with pytest.raises(RecordingError, match="not being recorded"):
        await rec.service.pause("alice")
    with pytest.raises(RecordingError, match="nothing to stop"):
        await rec.service.stop("alice")
    with pytest.raises(RecordingError, match="bob has no call"):
        await rec.service.start("bob")
    with pytest.raises(RecordingError, match="bad user name"):
        await rec.service.start("alice\r\nAction: Hangup")
    assert rec.incoming_files() == []  # refusals changed nothing

    started = await rec.service.start("alice")
    assert started == {"linkedid": linkedid, "recording": True, "paused": False,
                       "mode": "on_demand"}
    with pytest.raises(RecordingError, match="recorded already"):
        await rec.service.start("alice")
    await asyncio.sleep(2.0)
    stopped = await rec.service.stop("alice")
    assert stopped["recording"] is False
    await rec.service.idle()
    (row,) = rec.rows(linkedid)  # published while the call goes on
    assert row.meta["trigger"] == "alice" and row.meta["mode"] == "on_demand"
    assert 1.0 < row.duration < 4.0
    assert rec.acd.current_call("alice")["phase"] == "talking"
    await rec.ended(linkedid)
    assert len(rec.rows(linkedid)) == 1


async def test_a_transferred_call_stays_one_recording(lab, rec):
    use(rec)
    set_phone_tone(lab, "1002", make_tone(lab.pbx.root, 1000, 3))
    try:
        linkedid = await rec.talk(CARE, "+15557000013", agent_tone=8)
        await rec.event("recording.state", agent="alice", linkedid=linkedid, recording=True)
        await rec.acd_lab.on_duty("bob", "1002")
        await rec.acd.transfer("alice", "agent", "bob")  # blind: bob's phone rings
        await rec.acd_lab.wait_bus("acd.call", event="answered", linkedid=linkedid, agent="bob")
        await rec.event("recording.state", agent="bob", linkedid=linkedid, recording=True)
        assert rec.service.state("alice") is None  # the recording is bob's to pause now
        await rec.acd_lab.wait_bus("acd.call", event="ended", linkedid=linkedid, agent="bob",
                                   timeout=30)
        await rec.service.idle()
    finally:
        set_phone_tone(lab, "1002", None)
        await rec.acd.not_ready("bob", "break")
    (row,) = rec.rows(linkedid)  # the caller's channel was recorded throughout
    assert row.meta["agents"] == ["alice", "bob"]


async def test_a_queue_that_records_nothing(lab, rec):
    use(rec, care={"mode": "none"})
    linkedid = await rec.talk(CARE, "+15557000004", agent_tone=3)
    state = await rec.event("recording.state", agent="alice", linkedid=linkedid)
    assert (state["recording"], state["mode"]) == (False, "none")
    with pytest.raises(RecordingError, match="recording is off for queue care"):
        await rec.service.start("alice")
    await rec.ended(linkedid)
    assert rec.rows(linkedid) == [] and rec.incoming_files() == []
    assert not [e for e in rec.acd_lab.pbx.seen if e.name == "MixMonitorStart"
                and e.get("Linkedid") == linkedid]


async def test_percent_records_the_calls_the_draw_picks(lab, rec):
    use(rec, care={"mode": "percent", "percent": 30})
    kept = rec.service.rng
    try:
        rec.service.rng = FixedDraw(0.29)  # 29 < 30: recorded
        picked = await rec.talk(CARE, "+15557000005", agent_tone=3)
        await rec.ended(picked)
        rec.service.rng = FixedDraw(0.30)  # 30: not recorded
        passed = await rec.talk(CARE, "+15557000006", agent_tone=3)
        await rec.ended(passed)
    finally:
        rec.service.rng = kept
    assert len(rec.rows(picked)) == 1 and rec.rows(passed) == []


async def test_consent_is_announced_before_waiting_and_required(lab, rec):
    use(rec, care={"mode": "all", "consent": True})
    sound = rec.factory.consent("care")
    assert sound and rec.factory.consent("support") is None
    linkedid = await rec.talk(CARE, "+15557000007", agent_tone=3)
    played = await rec.acd_lab.pbx_event("Newexten", Linkedid=linkedid, Context="acd-wait",
                                          Application="Playback")
    assert played.get("AppData") == sound
    await rec.ended(linkedid)
    assert len(rec.rows(linkedid)) == 1
    # A caller put into the queue without the announcement is not recorded.
    rec.lab.world.rx("database put talk carrier 6")
    try:
        await rec.acd_lab.on_duty("alice", "1001")
        await originate_waiting_caller(lab, "+15557000008", {"CC_QUEUE": "care",
                                                               "CC_SKILLS": "care"})
        unheard = await rec.acd_lab.queued("+15557000008")
        alert = await rec.event("recording.alert", linkedid=unheard)
        assert "did not hear the consent announcement" in alert["message"]
        await rec.ended(unheard)
    finally:
        rec.lab.world.rx("database del talk carrier", check=False)
    assert rec.rows(unheard) == []


async def test_a_click_to_dial_call_records_the_customers_leg(lab, rec):
    use(rec)
    set_phone_tone(lab, "1001", make_tone(lab.pbx.root, 1000, 6))
    lab.world.rx("database put talk carrier 4")
    try:
        await rec.acd_lab.off_duty("alice", "1001")
        call_id = await rec.acd.dial("alice", "+15557000009")
        await rec.acd_lab.wait_bus("acd.call", event="answered", linkedid=call_id)
        await rec.ended(call_id)
    finally:
        lab.world.rx("database del talk carrier", check=False)
    (row,) = rec.rows(call_id)
    assert (row.meta["direction"], row.meta["recorded_leg"]) == ("outbound", "customer")
    customer, agent = channels_of(rec.store.root / row.path)
    assert energies(window(agent, 0.3, row.duration - 0.3))["agent"] > 1000
    assert energies(window(customer, 0.3, row.duration - 0.3))["agent"] < 20


async def test_asterisk_running_out_of_disk_loses_the_recording_not_the_call(lab, rec):
    use(rec)
    with tiny_disk(rec.service.incoming[0], "2m") as folder:
        linkedid = await rec.talk(CARE, "+15557000010", agent_tone=6)
        await rec.event("recording.state", agent="alice", linkedid=linkedid, recording=True)
        await asyncio.to_thread(fill, folder)  # the disk fills up during the call
        alert = await rec.event("recording.alert", linkedid=linkedid, timeout=30)
        await rec.ended(linkedid)
        assert "incomplete" in alert["message"] and alert["level"] == "error"
        assert [p.name for p in rec.incoming_files()] == ["filler"]  # the partial files went
    assert rec.rows(linkedid) == [] and not any(
        linkedid in p.name for p in rec.store_files())
    with rec.sessions() as s:  # the call itself is whole in the history
        assert interactions.by_linkedid(s, linkedid).status == "completed"


async def test_a_full_store_publishes_nothing_and_raises_an_alert(lab, rec):
    use(rec)
    before = rec.store_files()
    with tiny_disk(rec.store.root, "64k"):
        linkedid = await rec.talk(CARE, "+15557000011", agent_tone=4)
        await rec.ended(linkedid)
        alert = await rec.event("recording.alert", linkedid=linkedid)
        assert "could not be stored" in alert["message"]
        assert rec.store_files() == []  # not even a part file under the tiny disk
        kept = rec.incoming_files()  # Asterisk's complete files wait there
        assert len(kept) == 2 and all(p.name.startswith(linkedid) for p in kept)
    assert rec.rows(linkedid) == [] and rec.store_files() == before
    for path in kept:
        path.unlink()


async def test_compression_then_retention_of_a_published_recording(lab, rec, caplog):
    use(rec)
    linkedid = await rec.talk(CARE, "+15557000012", agent_tone=3)
    await rec.ended(linkedid)
    (row,) = rec.rows(linkedid)
    wav = rec.store.root / row.path
    wav_size = wav.stat().st_size
    done = await asyncio.to_thread(compress_due, rec.sessions, rec.store, "opus", after=0)
    assert row.id in [item.recording_id for item in done]
    (row,) = rec.rows(linkedid)
    opus = rec.store.root / row.path
    assert (row.format, row.channels, row.path.endswith(".opus")) == ("opus", 2, True)
    assert row.sha256 == hashlib.sha256(opus.read_bytes()).hexdigest()
    assert row.size == opus.stat().st_size < wav_size / 5
    assert not wav.exists() and row.compressed_at is not None

    with rec.sessions.begin() as s:  # 31 days later: care keeps recordings 30 days
        s.get(Recording, row.id).created_at -= timedelta(days=31)
    caplog.set_level(logging.INFO, "recording.retention")
    deleted = await asyncio.to_thread(run_retention, rec.sessions, rec.store, rec.factory.policy)
    assert [d.recording_id for d in deleted] == [row.id]
    (row,) = rec.rows(linkedid)
    assert row.status == "deleted" and row.deleted_at is not None and not opus.exists()
    assert f"retention: deleted {row.path}" in caplog.text


async def test_a_recording_left_by_a_stopped_engine_is_published_at_the_next_start(lab, rec):
    """The recorder stops while a call is recorded (a deploy, with Asterisk
    running on); MixMonitor goes on and closes its files when the call ends; the
    next recorder publishes them on the call, with both sides in place."""
    use(rec)
    linkedid = await rec.talk(CARE, "+15557000013", agent_tone=4)
    await rec.event("recording.state", agent="alice", linkedid=linkedid, recording=True)
    await rec.service.close()  # the engine's recorder is gone, Asterisk's MixMonitor is not
    await rec.acd_lab.wait_bus("acd.call", event="ended", linkedid=linkedid, timeout=30)
    kept = [p for p in rec.incoming_files() if p.name.startswith(linkedid)]
    assert len(kept) == 2
    for _ in range(100):  # Asterisk closes them once MixMonitor notices the hang-up
        if all(file_state(p)[0] == "closed" for p in kept):
            break
        await asyncio.sleep(0.1)
    assert rec.rows(linkedid) == []

    again = rec.factory(rec.acd_lab.engine)  # the next start
    again.jobs, again.leftover_age = (), 0.5
    await asyncio.sleep(1.0)
    again.attach()
    rec.service = again
    await again.open()  # looks for leftovers at once
    published = await rec.event("recording.published", linkedid=linkedid)
    assert published["recovered"] is True
    (row,) = rec.rows(linkedid)
    assert row.channels == 2 and row.meta["recovered"] and row.meta["length_checked"] is False
    caller, agent = channels_of(rec.store.root / row.path)
    assert row.duration > 3
    for side, mine, other in ((caller, "caller", "agent"), (agent, "agent", "caller")):
        heard = energies(window(side, 0.5, 2.5))
        assert heard[mine] > 1000 and heard[other] < 0.02 * heard[mine], (mine, heard)
    assert not [p for p in rec.incoming_files() if p.name.startswith(linkedid)]
