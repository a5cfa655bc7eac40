"""What an agent's screen shows when their phone rings: the screen pop.

Built from the ACD's offer, what the caller did in the IVR and the CRM: the
caller's number matched against the customers' phones (none, one, or several
for a shared office line), the customer's card when the call is theirs (name,
level, do-not-call flags, open tickets, pending callbacks, last interactions),
and the call's interaction id for the wrap-up. One CRM read of a few indexed
queries (see crm_core.card), done off the engine's loop.
"""
from __future__ import annotations

import time

from sqlalchemy.orm import Session

from crm_core import card, interactions, lookup
from crm_core.errors import NotFound

from .api.replies import plain

MATCHES_SHOWN = 10  # a shared number with more customers than this is a search, not a pick
LAST_ON_POP = 10  # interactions on the pop's card; the CRM page has them all
IVR_FACTS = ("flow", "keys", "account", "language", "outcome", "words")


def ivr_summary(detail: dict | None) -> dict | None:
    """The caller's way through the IVR, as the agent reads it."""
    if not detail:
        return None
    summary = {key: detail.get(key) for key in IVR_FACTS}
    summary["path"] = [step.get("node") for step in detail.get("path", []) if step.get("node")]
    return summary


def customer_card(session: Session, customer_id: int | None) -> dict | None:
    if customer_id is None:
        return None
    try:
        return plain(card.customer_card(session, customer_id, last=LAST_ON_POP))
    except NotFound:
        return None  # merged or deleted since the IVR looked it up


def build(session: Session, *, linkedid: str, caller: str, agent: str, region: str,
          customer_id: int | None = None, queue: str = "", direction: str = "inbound",
          ivr: dict | None = None, queued_at: float | None = None, callback: str | None = None,
          number: str = "", consult_from: str | None = None, clock=time.time) -> dict:
    """The pop for ``agent`` about call ``linkedid``. The interaction's own
    customer (an agent linked it by hand) wins over the IVR's and the number's."""
    row = interactions.by_linkedid(session, linkedid)
    matches = lookup.find_by_phone(session, number or caller, region=region,
                                   limit=MATCHES_SHOWN + 1)
    chosen = (row.customer_id if row is not None and row.customer_id else None) or customer_id
    if chosen is None and len(matches) == 1:
        chosen = matches[0].id
    now = clock()
    return {
        "linkedid": linkedid, "agent": agent, "direction": direction, "caller": caller,
        "consult_from": consult_from,
        "number": number or caller, "queue": queue, "callback": callback,
        "phase": "dialling" if direction == "outbound" else "ringing",
        "offered_at": now, "queued_at": queued_at, "answered_at": None, "ended_at": None,
        "interaction_id": row.id if row is not None else None,
        "ivr": ivr_summary(ivr),
        "matches": [{"id": m.id, "name": m.name, "kind": m.kind, "level": m.level}
                    for m in matches[:MATCHES_SHOWN]],
        "more_matches": len(matches) > MATCHES_SHOWN,
        "customer_id": chosen,
        "card": customer_card(session, chosen),
    }


def refresh_card(session: Session, pop: dict, customer_id: int) -> dict:
    """The pop after the agent said whose call it is."""
    row = interactions.by_linkedid(session, pop["linkedid"])
    return {**pop, "customer_id": customer_id, "card": customer_card(session, customer_id),
            "interaction_id": row.id if row is not None else pop.get("interaction_id")}
