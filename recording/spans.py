"""Paused spans: where a recording holds silence instead of the conversation
(card numbers and other sensitive data, PCI).  Pure.

Times are Asterisk's event timestamps (seconds): MixMonitorStart starts the
file, each MixMonitorMute says muted (1) or not (0) from then on.  A span is
[start, end] seconds into the recording; a pause still open when the recording
ends closes at its end."""
from __future__ import annotations

__all__ = ["paused_spans", "span_of"]


def span_of(started: float, muted_at: float, unmuted_at: float) -> list[float]:
    """One pause as [start, end] seconds into a recording started at ``started``."""
    start = max(0.0, muted_at - started)
    return [round(start, 3), round(max(start, unmuted_at - started), 3)]


def paused_spans(started: float, mutes: list[tuple[float, bool]],
                 ended: float) -> list[list[float]]:
    """``mutes``: (timestamp, muted) in the order Asterisk reported them; repeated
    states (a second mute while muted) are ignored.  Spans are clipped to the
    recording; empty ones are dropped."""
    spans: list[list[float]] = []
    open_at: float | None = None
    for at, muted in mutes:
        if muted and open_at is None:
            open_at = at
        elif not muted and open_at is not None:
            spans.append(span_of(started, open_at, min(at, ended)))
            open_at = None
    if open_at is not None:
        spans.append(span_of(started, open_at, ended))
    limit = round(max(0.0, ended - started), 3)
    clipped = [[min(a, limit), min(b, limit)] for a, b in spans]
    return [span for span in clipped if span[1] > span[0]]
