"""Typed CRM errors. Each carries an HTTP status, an error id and the fields at
fault, so the REST API turns any of them into a 4xx body in one place."""
from __future__ import annotations


class CrmError(Exception):
    status = 400
    error_id = "crm_error"

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict:
        return {"error": self.error_id, "message": self.message, **self.details}


class ValidationError(CrmError):
    """One or more fields are wrong; ``errors`` maps each field to its reason."""
    status = 422
    error_id = "validation_failed"

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        text = "; ".join(f"{field}: {reason}" for field, reason in self.errors.items())
        super().__init__(text, fields=self.errors)

    @classmethod
    def one(cls, field: str, reason: str) -> "ValidationError":
        return cls({field: reason})


class NotFound(CrmError):
    status = 404
    error_id = "not_found"


class Conflict(CrmError):
    """The record changed since it was read (stale version), or would clash."""
    status = 409
    error_id = "conflict"


class DuplicateCustomer(Conflict):
    """A customer with the same phone or e-mail exists (and who owns it)."""
    error_id = "duplicate_customer"


class PermissionDenied(CrmError):
    status = 403
    error_id = "forbidden"
