"""Errors of the AMI link, each saying what to check."""
from __future__ import annotations

from typing import Any


class AmiError(Exception):
    """Base of every AMI error raised by the cti package."""


class AmiConnectError(AmiError):
    """Asterisk's manager port could not be reached in time."""


class AmiAuthError(AmiError):
    """Asterisk refused our Login: wrong username/secret or ACL."""


class AmiNotConnected(AmiError):
    """The link is down (or went down while waiting for an answer)."""


class AmiTimeout(AmiError, TimeoutError):
    """No answer to an action within action_timeout.

    TimeoutError is asyncio.TimeoutError on Python 3.11, so callers catching
    either keep working.
    """


class AmiActionError(AmiError):
    """Asterisk answered an action with Response: Error."""

    def __init__(self, action: str, response: Any) -> None:
        self.action = action
        self.response = response
        message = response.get("Message", "") if response is not None else ""
        super().__init__(f"AMI action {action} failed: {message or 'no message'}")

    @property
    def message(self) -> str:
        return self.response.get("Message", "") if self.response is not None else ""


class AmiEventError(AmiError, ValueError):
    """An event block could not be turned into its typed event."""
