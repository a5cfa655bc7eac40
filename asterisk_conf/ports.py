"""Free ports for Asterisk instances, and clear errors when a port is taken."""
from __future__ import annotations

import errno
import random
import socket


class PortInUse(RuntimeError):
    """A port the platform needs is already taken; the message names it."""


def _bindable(host: str, port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM) -> int:
    """A port the kernel says is free now (for TCP and, checked, for UDP too)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, kind) as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        other = socket.SOCK_DGRAM if kind == socket.SOCK_STREAM else socket.SOCK_STREAM
        if _bindable(host, port, other):
            return port
    raise PortInUse(f"no free port found on {host}")


def free_udp_range(host: str = "127.0.0.1", count: int = 200,
                   low: int = 20000, high: int = 60000) -> int:
    """The first port of ``count`` consecutive free UDP ports (for RTP)."""
    for _ in range(100):
        start = random.randrange(low, high - count) & ~1  # RTP starts even
        if all(_bindable(host, p, socket.SOCK_DGRAM) for p in range(start, start + count)):
            return start
    raise PortInUse(f"no {count} consecutive free UDP ports on {host}")


def require_free(host: str, port: int, proto: str, what: str) -> None:
    """Raise PortInUse naming ``what`` (a configuration key) when the port is taken."""
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    if not _bindable(host, port, kind):
        raise PortInUse(
            f"{what}: port {port}/{proto} on {host} is already in use "
            f"(another Asterisk or program?). Stop it or choose another port in the configuration.")
