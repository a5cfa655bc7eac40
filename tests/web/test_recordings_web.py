"""Recordings on the web: the interaction page with its players and transcript,
and GET /recordings/<id> with HTTP range requests, for the agent who handled
the call, supervisors and admins only; a path that leaves the store is refused."""
import hashlib
import itertools
import wave
from datetime import datetime, timezone

import pytest

from agent_console.app import create_app
from agent_console.crm_pages.interaction import turns
from crm_core import interactions
from crm_core.models import Recording, Transcript

from .console_support import console_crm, post  # noqa: F401  (fixture)
from .test_web_signin import SECRET, sign_in

_calls = itertools.count(1)


def wav_bytes(seconds: float = 1.0) -> bytes:
    import io
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(range(256)) * int(8000 * 4 * seconds / 256))
    return out.getvalue()


@pytest.fixture
def store(console_crm, tmp_path):
    sessions, ids = console_crm
    app = create_app(sessions, secret_key=SECRET, recordings_dir=tmp_path)
    return app, sessions, ids, tmp_path


def recorded_call(sessions, ids, store_dir, *, agent="ann", words=None, relative=None,
                  meta=None):
    linkedid = f"rec.{next(_calls)}"
    audio = wav_bytes()
    relative = relative or f"2026/12/05/{linkedid}.wav"
    if not relative.startswith(".."):
        (store_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        (store_dir / relative).write_bytes(audio)
    with sessions.begin() as s:
        interactions.save_call(s, interactions.CallFacts(
            linkedid=linkedid, direction="inbound", started_at=datetime.now(timezone.utc),
            caller_number="+15551230001"), customer_id=ids["ada lovelace"])
        row = interactions.by_linkedid(s, linkedid)
        row.agent_id = ids[agent]
        recording = Recording(interaction_id=row.id, kind="call", path=relative, format="wav",
                              channels=2, duration=1.0, size=len(audio),
                              sha256=hashlib.sha256(audio).hexdigest(), paused=[[0.2, 0.4]],
                              meta=meta or {})
        s.add(recording)
        s.flush()
        if words is not None:
            s.add(Transcript(recording_id=recording.id, interaction_id=row.id, status="done",
                             text=" ".join(w["word"] for w in words), words=words))
        return row.id, recording.id, audio


def client_of(app, username):
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    return client


def test_the_handling_agent_plays_the_recording_with_range_requests(store):
    app, sessions, ids, store_dir = store
    _, recording, audio = recorded_call(sessions, ids, store_dir)
    client = client_of(app, "ann")
    whole = client.get(f"/recordings/{recording}")
    assert whole.status_code == 200 and whole.data == audio
    assert whole.mimetype == "audio/wav" and whole.headers["Accept-Ranges"] == "bytes"
    part = client.get(f"/recordings/{recording}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.data == audio[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(audio)}"
    assert client.get(f"/recordings/{recording}",
                      headers={"Range": f"bytes={len(audio) + 10}-"}).status_code == 416


@pytest.mark.parametrize("user,status", [("bob", 403), ("sue", 200), ("ada", 200)])
def test_other_agents_may_not_supervisors_and_admins_may(store, user, status):
    app, sessions, ids, store_dir = store
    _, recording, _ = recorded_call(sessions, ids, store_dir, agent="ann")
    assert client_of(app, user).get(f"/recordings/{recording}").status_code == status


def test_sign_in_first_and_unknown_or_escaping_paths_are_404(store):
    app, sessions, ids, store_dir = store
    _, recording, _ = recorded_call(sessions, ids, store_dir)
    anonymous = app.test_client().get(f"/recordings/{recording}")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    client = client_of(app, "sue")
    assert client.get("/recordings/999999").status_code == 404
    outside = store_dir.parent / "secret.wav"
    outside.write_bytes(b"RIFF not yours")
    _, sneaky, _ = recorded_call(sessions, ids, store_dir, relative="../secret.wav")
    assert client.get(f"/recordings/{sneaky}").status_code == 404


def test_the_interaction_page_shows_players_and_who_said_what(store):
    app, sessions, ids, store_dir = store
    words = [{"word": "hello", "start": 0.5, "end": 0.9, "speaker": "caller"},
             {"word": "<script>", "start": 1.5, "end": 1.9, "speaker": "agent"},
             {"word": "你好", "start": 2.0, "end": 2.3, "speaker": "agent"}]
    interaction, recording, _ = recorded_call(sessions, ids, store_dir, words=words)
    page = client_of(app, "ann").get(f"/crm/interactions/{interaction}").get_data(as_text=True)
    assert f'src="/recordings/{recording}"' in page and "stereo" in page
    assert "&lt;script&gt; 你好" in page and "<script>" not in page.split("<main>")[1]
    assert "Paused (silence) at 0.2-0.4 s" in page
    other = client_of(app, "bob").get(f"/crm/interactions/{interaction}").get_data(as_text=True)
    assert f'src="/recordings/{recording}"' not in other and "Only the agent" in other
    assert "Recovered after an engine restart" not in page


def test_a_recording_recovered_after_a_restart_says_so(store):
    app, sessions, ids, store_dir = store
    interaction, _, _ = recorded_call(sessions, ids, store_dir,
                                      meta={"recovered": True, "length_checked": False})
    page = client_of(app, "ann").get(f"/crm/interactions/{interaction}").get_data(as_text=True)
    assert "Recovered after an engine restart" in page


def test_turns_group_words_by_speaker_in_time_order():
    words = [{"word": "b", "start": 2.0, "speaker": "agent"},
             {"word": "a", "start": 1.0, "speaker": "caller"},
             {"word": "c", "start": 3.0, "speaker": "agent"},
             {"word": "d", "start": 4.0}]
    assert turns(words) == [{"speaker": "caller", "start": 1.0, "text": "a"},
                            {"speaker": "agent", "start": 2.0, "text": "b c"},
                            {"speaker": "mixed", "start": 4.0, "text": "d"}]


def test_transcript_search_for_supervisors_and_the_handling_agent(store):
    app, sessions, ids, store_dir = store
    words = [{"word": "refund", "start": 0.5, "speaker": "caller"},
             {"word": "<b>now</b>", "start": 1.0, "speaker": "caller"}]
    interaction, _, _ = recorded_call(sessions, ids, store_dir, agent="ann", words=words)
    for user, finds in (("sue", True), ("ann", True), ("bob", False)):
        page = client_of(app, user).get("/crm/transcripts?q=REFUND").get_data(as_text=True)
        assert (f'href="/crm/interactions/{interaction}"' in page) is finds, user
    page = client_of(app, "sue").get("/crm/transcripts?q=refund").get_data(as_text=True)
    assert "&lt;b&gt;now&lt;/b&gt;" in page and "<b>now</b>" not in page
    bad = client_of(app, "sue").get("/crm/transcripts?q=a%00b")
    assert bad.status_code == 422
    assert client_of(app, "sue").get("/crm/transcripts").status_code == 200  # the form alone


def test_the_api_searches_transcripts_with_the_same_rule(store):
    app, sessions, ids, store_dir = store
    words = [{"word": "parcel", "start": 0.5, "speaker": "caller"}]
    interaction, _, _ = recorded_call(sessions, ids, store_dir, agent="ann", words=words)
    from crm_core import users
    with sessions.begin() as s:
        tokens = {name: users.issue_token(s, ids[name], "t") for name in ("ann", "bob", "sue")}
    client = app.test_client()

    def search(who, q="PARCEL"):
        return client.get(f"/api/v1/transcripts?q={q}",
                          headers={"Authorization": f"Bearer {tokens[who]}"})
    def found(who) -> list[int]:
        return [hit["interaction_id"] for hit in search(who).get_json()["items"]]
    assert interaction in found("sue") and interaction in found("ann")
    assert interaction not in found("bob")
    assert search("sue", q="").status_code == 422
    assert client.get("/api/v1/transcripts?q=x").status_code == 401
