"""What every resource of the API is handed: the session factory and the
default phone region. Built once in ``create_api``; no globals."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker


@dataclass(frozen=True)
class Api:
    sessions: sessionmaker
    region: str = "US"

    def transaction(self):
        """One unit of work: committed when the block ends, rolled back on any error.
        The services never commit; the request owns the transaction."""
        return self.sessions.begin()

    def reading(self) -> Session:
        """A session for a read; whatever it holds is rolled back on close."""
        return self.sessions()
