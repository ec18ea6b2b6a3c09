"""The runtime's framed telemetry channel, read as Lambda reads it.

On Lambda the runtime client writes each log record as one frame to the file descriptor
named by ``_LAMBDA_TELEMETRY_LOG_FD``, so a record that contains newlines (a traceback,
a multi-line message) stays one CloudWatch event. A frame, big-endian::

    +-------------------+-------------------+----------------------+-------------------+
    | type (4 bytes)    | length (4 bytes)  | timestamp, us (8 B)  | message (length)  |
    +-------------------+-------------------+----------------------+-------------------+

``print`` output does not use it: it goes to stdout and is split at newlines.
"""

from __future__ import annotations

from dataclasses import dataclass

HEADER_BYTES = 16
FRAME_MAGIC = 0xA55A0000  # the high half of every frame type awslambdaric writes
MAX_FRAME_BYTES = 1 << 30  # a length past this is a broken stream, not a record


class FramingError(Exception):
    """The channel's bytes are not frames (the stream is out of step)."""


@dataclass(frozen=True)
class Frame:
    type: int
    timestamp_us: int
    message: str


class FrameReader:
    """Turns the bytes read from the channel into frames, whatever the read sizes."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        """The frames that ``data`` completes (a partial frame waits for more bytes).

        Raises:
            FramingError: a header that no runtime writes; the reader is then unusable.
        """
        self._buffer += data
        frames = []
        while len(self._buffer) >= HEADER_BYTES:
            header = bytes(self._buffer[:HEADER_BYTES])
            frame_type = int.from_bytes(header[0:4], "big")
            length = int.from_bytes(header[4:8], "big")
            if frame_type & 0xFFFF0000 != FRAME_MAGIC or length > MAX_FRAME_BYTES:
                raise FramingError(f"not a telemetry frame: type {frame_type:#x}, {length} B")
            if len(self._buffer) < HEADER_BYTES + length:
                break
            message = bytes(self._buffer[HEADER_BYTES : HEADER_BYTES + length])
            del self._buffer[: HEADER_BYTES + length]
            frames.append(
                Frame(
                    frame_type,
                    int.from_bytes(header[8:16], "big"),
                    message.decode("utf-8", errors="replace"),
                )
            )
        return frames

    @property
    def pending(self) -> int:
        """Bytes of a frame not yet complete (lost if the process ends now)."""
        return len(self._buffer)
