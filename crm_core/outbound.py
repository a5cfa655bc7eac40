"""Outbound calls an agent places from a customer's card: the customer is known
before the call rings, so it is linked at once, not looked up by number."""
from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy import func
from sqlalchemy.orm import Session

from .errors import NotFound
from .interactions import CallFacts, _row
from .models import Customer, Interaction


def claim_customer(session: Session, facts: CallFacts, customer_id: int) -> None:
    """Insert the outbound call's row with its customer, or fill the customer link
    of the row the history writer may have written first, whatever its status by
    now (this may run after a very short call has ended). Never replaces a
    customer already linked. NotFound for an unknown customer."""
    if isinstance(customer_id, bool) or not isinstance(customer_id, int) \
            or session.get(Customer, customer_id) is None:
        raise NotFound(f"customer {customer_id!r} does not exist")
    row = _row(facts)
    row["customer_id"] = customer_id
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[
        session.get_bind().dialect.name]
    stmt = insert(Interaction).values(**row)
    stmt = stmt.on_conflict_do_update(index_elements=["linkedid"], set_={
        "customer_id": func.coalesce(Interaction.customer_id, stmt.excluded.customer_id)})
    session.execute(stmt)
