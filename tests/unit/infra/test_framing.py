"""The framed telemetry channel: frames as awslambdaric writes them, split anyhow."""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coldbench.infra.local.framing import FrameReader, FramingError


def frames_from_awslambdaric(messages: list[str]) -> bytes:
    """The bytes the real runtime client's sink writes for these records."""
    from awslambdaric.bootstrap import FramedTelemetryLogSink

    read, write = os.pipe()
    sink = FramedTelemetryLogSink(write)
    with sink:
        for message in messages:
            sink.log(message)
    with io.FileIO(read) as f:
        return f.read()


@given(
    st.lists(st.text(max_size=200), min_size=1, max_size=8),
    st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=20),
)
def test_every_record_is_one_frame_whatever_the_read_sizes(messages, sizes):
    data = frames_from_awslambdaric(messages)
    reader, frames, at = FrameReader(), [], 0
    for size in sizes * (len(data) // sum(sizes) + 1):
        frames += reader.feed(data[at : at + size])
        at += size
    assert [f.message for f in frames] == messages
    assert reader.pending == 0


def test_a_traceback_with_newlines_stays_one_record():
    text = "[ERROR] RuntimeError: boom\nTraceback (most recent call last):\n  File x"
    (frame,) = FrameReader().feed(frames_from_awslambdaric([text]))
    assert frame.message == text and frame.timestamp_us > 0


def test_bytes_out_of_step_are_refused_not_misread():
    with pytest.raises(FramingError):
        FrameReader().feed(b"hello, this is not a frame at all")
