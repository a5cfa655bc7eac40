"""Recordings in the CRM on both databases: a row and its link per published
file, what retention and compression select, what they change, the audit."""
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from crm_core import audit, interactions as I, recordings as R
from crm_core.errors import NotFound, ValidationError
from crm_core.models import Recording, Transcript
from recording.compress import compress_due, compress_one
from recording.policy import parse_policy
from recording.retention import run_retention
from recording.store import Store

T0 = datetime(2026, 11, 23, 9, 0, 0, tzinfo=timezone.utc)
SHA = "a" * 64


def call(sessions, linkedid="pbx-1.0", started=T0):
    with sessions.begin() as s:
        I.save_call(s, I.CallFacts(linkedid=linkedid, direction="inbound", started_at=started,
                                   caller_number="+15551230001"))
        return I.by_linkedid(s, linkedid).id


def add(sessions, linkedid="pbx-1.0", path="2026/11/23/pbx-1.0-1.wav", **kw):
    fields = dict(path=path, format="wav", channels=2, duration=6.0, size=192044, sha256=SHA,
                  paused=[[2.0, 4.0]], meta={"queue": "care", "direction": "inbound"})
    fields.update(kw)
    with sessions.begin() as s:
        return R.add_recording(s, linkedid, **fields).id


def test_a_recording_is_a_row_and_a_link_on_its_interaction(sessions):
    interaction = call(sessions)
    rec_id = add(sessions)
    with sessions() as s:
        (rec,) = R.recordings_of(s, interaction)
        assert (rec.id, rec.kind, rec.status, rec.channels, rec.paused) == \
            (rec_id, "call", "complete", 2, [[2.0, 4.0]])
        assert rec.created_at.tzinfo is not None and rec.meta["queue"] == "care"
        (link,) = I.links_of(s, interaction)
        assert (link.kind, link.ref) == ("recording", "2026/11/23/pbx-1.0-1.wav")
        assert link.meta == {"recording_id": rec_id, "format": "wav", "channels": 2,
                             "duration": 6.0, "size": 192044, "sha256": SHA,
                             "paused": [[2.0, 4.0]]}
        assert R.get_recording(s, rec_id).path == rec.path
        with pytest.raises(NotFound):
            R.get_recording(s, rec_id + 100)


def test_bad_rows_are_refused_and_write_nothing(sessions):
    interaction = call(sessions)
    with pytest.raises(NotFound):
        add(sessions, linkedid="pbx-9.9")  # the call's row is not written yet
    bad = [dict(path="/etc/passwd"), dict(path="../x.wav"), dict(path=""), dict(format="WAV!"),
           dict(channels=3), dict(duration=float("nan")), dict(duration=-1), dict(size=-5),
           dict(sha256="xyz"), dict(paused=[[3, 1]]), dict(paused=[[1]]), dict(paused="none"),
           dict(kind="fax"), dict(meta=[1])]
    for fields in bad:
        with pytest.raises(ValidationError):
            add(sessions, **fields)
    with sessions() as s:
        assert R.recordings_of(s, interaction) == [] and I.links_of(s, interaction) == []
    add(sessions)
    with pytest.raises(Exception):  # the same path twice: one file, one row
        add(sessions)


def ages(sessions, rows: dict[str, int], now):
    """Recordings created ``days`` before ``now``, with their queue."""
    ids = {}
    for n, (queue, days) in enumerate(rows.items()):
        linkedid = f"pbx-{n}.0"
        call(sessions, linkedid)
        ids[queue] = add(sessions, linkedid, path=f"2026/01/01/{linkedid}-1.wav",
                         meta={"queue": queue if queue != "outbound" else None,
                               "direction": "outbound" if queue == "outbound" else "inbound"})
        with sessions.begin() as s:
            s.get(Recording, ids[queue]).created_at = now - timedelta(days=days)
    return ids


POLICY = parse_policy({"recording": {"defaults": {"retention_days": 90},
                                     "queues": {"care": {"retention_days": 30},
                                                "legal": {"retention_days": 3650}},
                                     "outbound": {"retention_days": 7}}})


def test_retention_selects_by_each_recordings_queue(sessions):
    now = T0 + timedelta(days=400)
    ids = ages(sessions, {"care": 31, "legal": 400, "other": 91, "fresh": 10, "outbound": 8},
               now)
    from recording.retention import days_of, shortest
    with sessions() as s:
        due = R.due_for_retention(s, now, days_of(POLICY), min_days=shortest(POLICY))
        assert sorted(r.id for r in due) == sorted([ids["care"], ids["other"], ids["outbound"]])
        assert len(R.due_for_retention(s, now, days_of(POLICY), min_days=7, limit=1)) == 1


def test_deleting_marks_the_row_removes_the_link_and_audits(sessions):
    interaction = call(sessions)
    rec_id = add(sessions)
    with sessions.begin() as s:
        R.mark_deleted(s, rec_id, T0, why="retention: 31 days old, kept 30 days")
        R.mark_deleted(s, rec_id, T0, why="again")  # idempotent
    with sessions() as s:
        rec = R.get_recording(s, rec_id)
        assert (rec.status, rec.deleted_at) == ("deleted", T0)
        assert I.links_of(s, interaction) == []
        (entry,) = audit.history(s, "interaction", interaction)
        assert entry.action == "update" and entry.user_id is None
        assert entry.changes == {"recording": ["2026/11/23/pbx-1.0-1.wav", None],
                                 "recording_id": rec_id,
                                 "why": "retention: 31 days old, kept 30 days"}
        assert R.due_for_retention(s, T0 + timedelta(days=999), lambda r: 1, min_days=1) == []


def test_compression_selection_skips_what_a_transcriber_reads(sessions):
    interaction = call(sessions)
    ids = [add(sessions, path=f"2026/11/23/pbx-1.0-{n}.wav") for n in range(1, 5)]
    with sessions.begin() as s:
        for rec_id, status in zip(ids[1:], ("pending", "running", "done")):
            s.add(Transcript(recording_id=rec_id, interaction_id=interaction, status=status,
                             error="", language="", text="", words=[], attempts=0))
        s.get(Recording, ids[0]).created_at = T0
    later = datetime.now(timezone.utc) + timedelta(seconds=1)
    with sessions() as s:
        assert [r.id for r in R.due_for_compression(s, later)] == [ids[0], ids[3]]
        assert [r.id for r in R.due_for_compression(s, later, transcribed_first=True)] == [ids[3]]
        assert [r.id for r in R.due_for_compression(s, T0 + timedelta(seconds=1))] == [ids[0]]


def test_a_compressed_recording_moves_its_row_and_link(sessions):
    interaction = call(sessions)
    rec_id = add(sessions)
    with sessions.begin() as s:
        R.mark_compressed(s, rec_id, path="2026/11/23/pbx-1.0-1.opus", format="opus",
                          size=1234, sha256="b" * 64, at=T0)
        with pytest.raises(ValidationError):
            R.mark_compressed(s, rec_id, path="../x", format="opus", size=1, sha256="b" * 64,
                              at=T0)
    with sessions() as s:
        rec = R.get_recording(s, rec_id)
        assert (rec.path, rec.format, rec.size, rec.compressed_at) == \
            ("2026/11/23/pbx-1.0-1.opus", "opus", 1234, T0)
        (link,) = I.links_of(s, interaction)
        assert link.ref == rec.path and link.meta["format"] == "opus"
        assert link.meta["sha256"] == "b" * 64 and link.meta["recording_id"] == rec_id
        assert R.due_for_compression(s, datetime.now(timezone.utc) + timedelta(1)) == []


def test_a_pause_is_audited_with_the_agent(sessions):
    from crm_core import users
    interaction = call(sessions)
    with sessions.begin() as s:
        alice = users.create_user(s, "alice", "lab-password-1234", "agent").id
        R.audit_pause(s, "pbx-1.0", "alice", {"recording_paused": [True, False],
                                               "span": [2.0, 4.0]})
        R.audit_pause(s, "pbx-1.0", "ghost", {"recording_paused": [False, True], "at": 1.0})
        with pytest.raises(NotFound):
            R.audit_pause(s, "pbx-7.7", "alice", {})
    with sessions() as s:
        first, second = audit.history(s, "interaction", interaction)
        assert first.user_id == alice and first.changes == {
            "agent": "alice", "recording_paused": [True, False], "span": [2.0, 4.0]}
        assert second.user_id is None and second.changes["agent"] == "ghost"


# -- the jobs, on real files ----------------------------------------------------------

def wav(path, seconds=2, channels=2):
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["sox", "-n", "-r", "8000", "-c", str(channels), "-b", "16", str(path),
                    "synth", str(seconds), "sine", "440", "sine", "1000"], check=True)


def test_the_retention_job_deletes_files_and_rows(sessions, tmp_path, caplog):
    store = Store(tmp_path / "store")
    now = datetime.now(timezone.utc)
    ids = ages(sessions, {"care": 40, "legal": 40}, now)
    for rel in ("2026/01/01/pbx-0.0-1.wav", "2026/01/01/pbx-1.0-1.wav"):
        wav(store.root / rel)
    assert [d.recording_id for d in run_retention(sessions, store, POLICY, dry_run=True)] == \
        [ids["care"]]
    assert (store.root / "2026/01/01/pbx-0.0-1.wav").exists()  # a dry run deletes nothing
    caplog.set_level("INFO", "recording.retention")
    (done,) = run_retention(sessions, store, POLICY)
    assert (done.recording_id, done.queue, done.kept_days) == (ids["care"], "care", 30)
    assert not (store.root / "2026/01/01/pbx-0.0-1.wav").exists()
    assert (store.root / "2026/01/01/pbx-1.0-1.wav").exists()  # legal keeps 10 years
    assert "retention: deleted 2026/01/01/pbx-0.0-1.wav" in caplog.text
    with sessions() as s:
        assert R.get_recording(s, ids["care"]).status == "deleted"
        assert R.get_recording(s, ids["legal"]).status == "complete"
    assert run_retention(sessions, store, POLICY) == []


def test_compressing_keeps_the_wav_until_the_row_says_otherwise(sessions, tmp_path):
    import hashlib
    store = Store(tmp_path / "store")
    call(sessions)
    rel = "2026/11/23/pbx-1.0-1.wav"
    wav(store.root / rel, seconds=3)
    rec_id = add(sessions, path=rel, size=(store.root / rel).stat().st_size)
    (done,) = compress_due(sessions, store, "mp3", after=0)
    new = store.root / "2026/11/23/pbx-1.0-1.mp3"
    assert done.published.path == "2026/11/23/pbx-1.0-1.mp3" and new.exists()
    assert not (store.root / rel).exists()
    with sessions() as s:
        rec = R.get_recording(s, rec_id)
        assert (rec.format, rec.size) == ("mp3", new.stat().st_size)
        assert rec.sha256 == hashlib.sha256(new.read_bytes()).hexdigest()
        assert rec.channels == 2 and rec.compressed_at is not None
    assert compress_one(sessions, store, rec_id, "mp3") is None  # done once


def test_a_failed_compression_leaves_the_wav(sessions, tmp_path):
    store = Store(tmp_path / "store")
    call(sessions)
    rel = "2026/11/23/pbx-1.0-1.wav"
    (store.root / rel).parent.mkdir(parents=True)
    (store.root / rel).write_bytes(b"RIFF not really a wav")
    rec_id = add(sessions, path=rel)
    assert compress_due(sessions, store, "opus", after=0) == []
    assert (store.root / rel).exists()
    assert sorted(p.name for p in (store.root / "2026/11/23").iterdir()) == ["pbx-1.0-1.wav"]
    with sessions() as s:
        assert R.get_recording(s, rec_id).format == "wav"
