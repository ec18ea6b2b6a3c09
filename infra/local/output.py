"""An environment's output into its log stream, as Lambda takes it.

Two channels: ``print`` output on stdout, one event per line (none for an empty line,
every byte of a long one), and the runtime's log records on the framed telemetry
channel, one event per record, newlines and all, at the time the runtime stamped.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable

from coldbench.infra.local.framing import FrameReader, FramingError

log = logging.getLogger(__name__)
LogFn = Callable[..., None]  # Telemetry.log(stream, message[, epoch_s])
_MAX_PENDING_LINE = 1 << 20  # bytes of one unfinished line held before part is shipped


async def pump_lines(reader: asyncio.StreamReader, stream: str, log_line: LogFn) -> None:
    """Forward stdout: one event per line, none for an empty line (as Lambda splits
    ``print`` output), and every byte of a line however long (the telemetry splits it
    at CloudWatch's event size)."""
    pending = b""
    while chunk := await reader.read(1 << 16):
        pending += chunk
        if b"\n" not in chunk:
            if len(pending) > _MAX_PENDING_LINE:  # a line with no end: ship what we have
                cut = _char_boundary(pending, _MAX_PENDING_LINE)
                log_line(stream, pending[:cut].decode(errors="replace"))
                pending = pending[cut:]
            continue
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line:
                log_line(stream, line.decode(errors="replace"))
    if pending:
        log_line(stream, pending.decode(errors="replace"))


async def pump_frames(fd: int, stream: str, log_record: LogFn) -> None:
    """Forward the runtime's log records from the read end ``fd`` of its framed channel
    (closed here), one event each, at the time the runtime stamped on them."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    pipe = os.fdopen(fd, "rb", buffering=0)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    frames = FrameReader()
    try:
        while chunk := await reader.read(1 << 16):
            for frame in frames.feed(chunk):
                if frame.message:
                    log_record(stream, frame.message, frame.timestamp_us / 1e6)
    except FramingError as exc:  # out of step: what follows cannot be told apart
        log.warning("log stream %s: telemetry channel unreadable: %s", stream, exc)
    finally:
        transport.close()


def _char_boundary(data: bytes, limit: int) -> int:
    """The largest cut at or below ``limit`` that does not split a UTF-8 character."""
    cut = limit
    while cut > 0 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut or limit
