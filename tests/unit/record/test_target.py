"""A target file belongs to the process serving it: readers check that it is alive."""

from __future__ import annotations

import http.server
import os
import threading

import pytest

from coldbench.record.errors import TargetError
from coldbench.record.target import FunctionSnapshot, Target, read_target, write_target


def local(owner_pid: int, control_url: str) -> Target:
    return Target(
        "local",
        "http://127.0.0.1:9/",
        "NONE",
        "us-east-1",
        "f",
        control_url=control_url,
        owner_pid=owner_pid,
        function=FunctionSnapshot(memory_mb=256),
    )


@pytest.fixture
def control_url():
    class Status(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Status)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


def test_a_live_target_reads_back_whole(tmp_path, control_url):
    path = write_target(local(os.getpid(), control_url), tmp_path / "target.json")
    target = read_target(path)
    assert target.function.memory_mb == 256 and target.owner_pid == os.getpid()


def test_a_target_whose_process_ended_is_refused_and_its_file_removed(tmp_path, control_url):
    path = write_target(local(2**22 + 12345, control_url), tmp_path / "target.json")
    with pytest.raises(TargetError, match="no longer running: start one with `coldbench local`"):
        read_target(path)
    assert not path.exists()


def test_a_target_whose_server_does_not_answer_is_refused_but_not_removed(tmp_path):
    path = write_target(local(os.getpid(), "http://127.0.0.1:9/"), tmp_path / "target.json")
    with pytest.raises(TargetError, match="no longer running"):
        read_target(path)
    assert path.exists(), "its process still runs: the file is still its own"


def test_no_target_says_how_to_start_one(tmp_path):
    with pytest.raises(TargetError, match="coldbench local"):
        read_target(tmp_path / "missing.json")


def test_recycle_of_a_dead_target_is_a_clear_error_not_a_traceback(tmp_path, monkeypatch, capsys):
    from coldbench.cli import main

    monkeypatch.chdir(tmp_path)
    write_target(local(2**22 + 12345, "http://127.0.0.1:9/"))
    assert main(["recycle"]) == 2
    assert "no longer running" in capsys.readouterr().err


def test_a_copy_of_a_local_target_on_another_machine_is_checked_by_its_url(tmp_path):
    """A distributed worker holds a copy of the master's target file: the owner's pid
    means nothing there and its control API sits on the owner's loopback. The target is
    alive while its Function URL accepts connections, and the copy is never deleted."""
    import socket

    from coldbench.record.errors import TargetError
    from coldbench.record.target import Target, read_target, write_target

    listening = socket.create_server(("127.0.0.1", 0))
    closed = socket.create_server(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    try:
        remote = Target(
            "local", f"http://127.0.0.1:{listening.getsockname()[1]}/", "NONE", "us-east-1", "f",
            control_url=f"http://127.0.0.1:{closed_port}/", owner_pid=2**22 + 7,
            owner_host="another-machine/0000",
        )  # fmt: skip
        path = write_target(remote, tmp_path / "target.json")
        assert read_target(path).url == remote.url
        gone = Target(**{**remote.to_dict(), "url": f"http://127.0.0.1:{closed_port}/"})
        write_target(gone, path)
        with pytest.raises(TargetError, match="no longer running"):
            read_target(path)
        assert path.exists(), "a copy owned elsewhere is not this machine's to delete"
    finally:
        listening.close()
