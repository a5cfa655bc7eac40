"""Bytes <-> AMI messages for one TCP connection.

Framing is ours (banner line, blocks ended by a blank line, bounded buffer,
UTF-8 kept intact across chunk boundaries); parsing of a block is panoramisk's
Message.from_line.  The protocol knows nothing of actions or events: it hands
each Message to its owner.
"""
from __future__ import annotations

import asyncio
import codecs
import logging
from typing import Callable

from panoramisk.message import Message

log = logging.getLogger(__name__)

EOL = "\r\n"
BLOCK_END = "\r\n\r\n"
BANNER_PREFIX = "Asterisk Call Manager/"
# Far above any real block (CoreShowChannels sends one block per channel);
# past it the peer is not speaking AMI and we drop the connection.
MAX_BUFFER = 4 * 1024 * 1024


class AmiProtocol(asyncio.Protocol):
    def __init__(self, on_message: Callable[[Message], None],
                 on_lost: Callable[["AmiProtocol", Exception | None], None],
                 max_buffer: int = MAX_BUFFER) -> None:
        self._on_message = on_message
        self._on_lost = on_lost
        self._max_buffer = max_buffer
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._buffer = ""
        self.transport: asyncio.Transport | None = None
        self.version: str | None = None
        self.banner: asyncio.Future[str] | None = None
        self.closed = False
        self._closed_event = asyncio.Event()
        self.skipped_blocks = 0

    # asyncio.Protocol -------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.banner = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._closed_event.set()
        if self.banner is not None and not self.banner.done():
            self.banner.set_exception(ConnectionError("connection closed before the AMI banner"))
        self._on_lost(self, exc)

    def data_received(self, data: bytes) -> None:
        self._buffer += self._decoder.decode(data)
        if self.version is None and not self._read_banner():
            return
        if BLOCK_END not in self._buffer:
            self._check_size()
            return
        *blocks, self._buffer = self._buffer.split(BLOCK_END)
        debug = log.isEnabledFor(logging.DEBUG)
        for block in blocks:
            self._handle_block(block, debug)

    # framing ----------------------------------------------------------
    def _read_banner(self) -> bool:
        line, sep, rest = self._buffer.partition(EOL)
        if not sep:
            self._check_size()
            return False
        if not line.startswith(BANNER_PREFIX):
            log.warning("AMI peer sent %r instead of the 'Asterisk Call Manager/' banner; closing",
                        line[:80])
            self.abort()
            return False
        self.version = line[len(BANNER_PREFIX):].strip()
        self._buffer = rest
        if self.banner is not None and not self.banner.done():
            self.banner.set_result(self.version)
        return True

    def _handle_block(self, block: str, debug: bool) -> None:
        block = block.strip()
        if not block:
            return
        if debug:
            self._log_bad_lines(block)
        message = Message.from_line(block)
        if message is None:
            self.skipped_blocks += 1
            log.warning("skipping AMI block that is neither Event nor Response: %r", block[:120])
            return
        self._on_message(message)

    @staticmethod
    def _log_bad_lines(block: str) -> None:
        for line in block.split(EOL):
            if ": " not in line:
                log.debug("ignoring AMI line without ': ': %r", line[:120])

    def _check_size(self) -> None:
        if len(self._buffer) > self._max_buffer:
            log.warning("AMI peer sent %d characters without a block end; closing", len(self._buffer))
            self._buffer = ""
            self.abort()

    # output -----------------------------------------------------------
    def send(self, text: str) -> None:
        if self.transport is None or self.closed or self.transport.is_closing():
            raise ConnectionError("AMI connection is closed")
        self.transport.write(text.encode("utf-8"))

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()

    async def wait_closed(self) -> None:
        await self._closed_event.wait()

    def abort(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.abort()
