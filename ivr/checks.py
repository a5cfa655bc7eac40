"""Checks a collect node can run on the number a caller typed.

A menu names its check (``check: customer_code``); the loader refuses a name
that is not in ``CHECKS``. A check is a plain function of the CRM adapter and
the digits; the runtime runs it through ``Crm.ask`` (a thread with a deadline),
so a check may query the database but must not touch the call.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .crm import Crm


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    customer_id: int | None = None  # whom the number identified, if anyone


def customer_code(crm: Crm, number: str) -> CheckResult:
    """A customer with this code (account number) exists."""
    found = crm.customer_id_by_code(number)
    return CheckResult(found is not None, found)


Check = Callable[[Crm, str], CheckResult]
CHECKS: dict[str, Check] = {"customer_code": customer_code}
