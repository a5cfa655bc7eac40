"""Errors of the FastAGI side."""
from __future__ import annotations


class AgiError(Exception):
    """Base of every AGI error raised by the cti package."""


class AgiServerError(AgiError):
    """The FastAGI listener could not start (port in use, bad address)."""


class AgiHangup(AgiError):
    """The caller hung up (HANGUP notice, dead-channel answer, EOF or reset).

    Normal end of a call for a handler; the server counts it as hung_up.
    """


class AgiCommandError(AgiError):
    """Asterisk refused a command: 510 unknown, 511 not permitted, 520 usage."""

    def __init__(self, code: int, text: str) -> None:
        self.code = code
        self.text = text
        super().__init__(f"AGI error {code}: {text}")


class AgiProtocolError(AgiError):
    """Asterisk's answer could not be understood."""
