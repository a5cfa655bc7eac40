"""GET /crm/interactions/<id>: one interaction drilled down: the call's facts,
its way through the IVR, queues, agents and transfers, its other links, and
its recordings with their players and transcripts (who said what, when).
Recordings and transcripts show to supervisors and admins, and to the agent
who handled the call; other agents see that they exist."""
from __future__ import annotations

from crm_core import directory
from crm_core.interaction_detail import interaction_detail

from ..api.routes import ID
from ..recordings import may_hear
from ..web_auth import current_user
from . import bp
from .common import crm_page, render, sessions


@bp.get(f"/interactions/<{ID}:interaction_id>")
@crm_page
def interaction(interaction_id: int):
    with sessions()() as s:
        detail = interaction_detail(s, interaction_id)
        row = detail["interaction"]
        agents = [row["agent_id"], *(seg["agent_id"] for seg in detail["segments"])]
        names = directory.user_names(s, agents)
    for recording in detail["recordings"]:
        transcript = recording["transcript"]
        if transcript is not None:
            transcript["turns"] = turns(transcript.get("words") or [])
    return render("crm/interaction.html", detail=detail, names=names,
                  may_hear=may_hear(current_user(), row["agent_id"]))


def turns(words: list[dict]) -> list[dict]:
    """Words in time order, grouped while the same speaker goes on: who said
    what, from when."""
    found: list[dict] = []
    for word in sorted(words, key=lambda w: (w.get("start") or 0.0)):
        speaker = word.get("speaker") or "mixed"
        if found and found[-1]["speaker"] == speaker:
            found[-1]["text"] += " " + str(word.get("word", ""))
        else:
            found.append({"speaker": speaker, "start": float(word.get("start") or 0.0),
                          "text": str(word.get("word", ""))})
    return found
