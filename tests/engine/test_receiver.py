"""Pushed logs: real sockets on 127.0.0.1 (TCP, UDP, unix), syslog from a Python sender and from
util-linux `logger`, garbage, oversized frames, a client leaving mid-line, bounds, spooling."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from alser_tui.engine.sources.history import HistoryReader
from alser_tui.engine.sources.receiver import (
    ReceiverSource,
    parse_listen,
    parse_syslog,
    spool_glob,
)

WAIT = 10.0  # the bound of every wait; all of them end much sooner on an event


@pytest.fixture
def sources() -> Iterator[Callable[..., ReceiverSource]]:
    made: list[ReceiverSource] = []

    def make(listen: str, **kw: object) -> ReceiverSource:
        src = ReceiverSource(listen, **kw)  # type: ignore[arg-type]
        made.append(src)
        return src

    yield make
    for s in made:
        s.close()


def collect(src: ReceiverSource, n: int) -> list[str]:
    """Exactly n lines, read as they arrive (bounded)."""
    got: list[str] = []
    deadline = time.monotonic() + WAIT
    while len(got) < n:
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(got)} of {n} lines: {got[-3:]}"
        if src.wait(left):
            for _path, lines in src.read(n - len(got)):
                got.extend(lines)
    return got


def conn_info(src: ReceiverSource, pred: Callable[..., bool]) -> object:
    assert src.wait_until(lambda: any(pred(f) for f in src.files), WAIT), src.files
    return next(f for f in src.files if pred(f))


def connect(src: ReceiverSource) -> socket.socket:
    return socket.create_connection(src.address[:2], timeout=WAIT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_of(src: ReceiverSource) -> int:
    return int(src.address[1])


# --------------------------------------------------------------------------- parsing


def test_listen_urls() -> None:
    ep = parse_listen("tcp://:5140")
    assert (ep.transport, ep.host, ep.port, ep.syslog) == ("tcp", "127.0.0.1", 5140, False)
    assert parse_listen("udp://127.0.0.1:5514").syslog
    assert parse_listen("syslog+tcp://0.0.0.0:6514").host == "0.0.0.0"
    assert parse_listen("unix:///tmp/als.sock").path == "/tmp/als.sock"
    assert parse_listen("syslog+unix:///dev/log").syslog
    for bad, problem in [
        ("http://x:1", "scheme"),
        ("tcp://127.0.0.1", "a port is needed"),
        ("tcp://127.0.0.1:99999", "port"),
        ("unix://relative.sock", "absolute path"),
        ("tcp://127.0.0.1:1/x", "nothing after"),
    ]:
        with pytest.raises(ValueError, match=problem):
            parse_listen(bad)


@pytest.mark.parametrize(
    ("frame", "want"),
    [
        (
            b'<13>1 2026-11-25T13:59:09.27+00:00 vm phperror - - [tq tzKnown="1"] us,1,a, b',
            ("phperror", "us,1,a, b"),
        ),
        (b'<13>1 - - app 12 ID7 [a b="x\\]y\\"z"][c] \xef\xbb\xbfus,1,x', ("app", "us,1,x")),
        (b"<13>1 - - - - - -", ("", "")),
        (b"<13>Nov 25 13:59:09 vm phperror: us,1,x", ("phperror", "us,1,x")),
        (b"<13>Nov  5 03:04:05 vm php[123]: us,1,x", ("php", "us,1,x")),
        (b"<13>phperror: us,1,x", ("phperror", "us,1,x")),
        (b"<13>just text", ("", "just text")),
        (b"no pri", None),
        (b"<192>1 - - a - - - x", None),
        (b"<13>1 - - app - - [unterminated", None),
    ],
)
def test_syslog_frames(frame: bytes, want: tuple[str, str] | None) -> None:
    assert parse_syslog(frame) == want


# --------------------------------------------------------------------------- plain streams


def test_tcp_lines_split_anywhere_and_client_leaving_mid_line(sources: Callable) -> None:
    src = sources("tcp://127.0.0.1:0")
    with connect(src) as c:
        for piece in (b"us,1,first", b" line\nus,2,sec", b"ond\r\n\nus,3,third\nus,4,cut off"):
            c.sendall(piece)
    assert collect(src, 3) == ["us,1,first line", "us,2,second", "us,3,third"]
    info = conn_info(src, lambda f: f.closed)
    # The unfinished line of a client that went away is not a line: counted, not passed on.
    assert (info.partial, info.lines_read, info.lag, info.received) == (1, 3, 0, 3)
    assert info.path.startswith("tcp://127.0.0.1:0#") and info.peer.startswith("127.0.0.1:")
    assert info.size == info.offset == len(b"us,1,first line\nus,2,second\r\n\nus,3,third\n")


def test_oversized_lines_are_cut_and_counted(sources: Callable) -> None:
    src = sources("tcp://127.0.0.1:0", max_line_bytes=100)
    with connect(src) as c:
        c.sendall(b"us,1," + b"x" * 5000 + b"\nus,2,after\n")
        assert collect(src, 2) == ["us,1," + "x" * 95, "us,2,after"]
    info = conn_info(src, lambda f: f.closed)
    assert info.overlong == 1


def test_connections_are_bounded(sources: Callable) -> None:
    src = sources("tcp://127.0.0.1:0", max_connections=2)
    a, b = connect(src), connect(src)
    try:
        a.sendall(b"us,1,a\n")
        b.sendall(b"us,1,b\n")
        assert sorted(collect(src, 2)) == ["us,1,a", "us,1,b"]
        with connect(src) as c:
            c.settimeout(WAIT)
            assert c.recv(10) == b"", "the third connection is closed at once"
        assert src._listener.refused == 1
        assert len([f for f in src.files if not f.closed]) == 2
    finally:
        a.close()
        b.close()


def test_a_full_queue_pushes_back_on_the_sender(sources: Callable) -> None:
    src = sources("tcp://127.0.0.1:0", queue_lines=50)
    lines = [f"us,{i},payload {i:06d}" for i in range(20_000)]
    data = "".join(line + "\n" for line in lines).encode()
    c = connect(src)
    sender = threading.Thread(target=c.sendall, args=(data,), daemon=True)
    sender.start()
    try:
        assert src.wait_until(lambda: src.queued_lines >= 50, WAIT)
        # Nobody reads: the receiver stops reading the socket instead of queueing more
        # than one more read's worth of lines.
        assert src.queued_lines <= 50 + 65536 // len(lines[0])
        assert collect(src, len(lines)) == lines  # everything arrives, in order
    finally:
        sender.join(WAIT)
        c.close()


def test_unix_socket_stale_file_and_cleanup(sources: Callable, tmp_path: Path) -> None:
    path = tmp_path / "als.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # a dead process's socket file: replaced
    src = sources(f"unix://{path}")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.connect(str(path))
        c.sendall(b"us,1,over unix\n")
        assert collect(src, 1) == ["us,1,over unix"]
    busy = tmp_path / "busy.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as other:  # "another process"
        other.bind(str(busy))
        other.listen()
        with pytest.raises(OSError, match="another process listens"):
            ReceiverSource(f"unix://{busy}")
    src.close()
    assert not path.exists()
    regular = tmp_path / "file.sock"
    regular.write_text("not a socket")
    with pytest.raises(OSError, match="not a socket"):
        ReceiverSource(f"unix://{regular}")


def test_spool_files_replay_as_history(sources: Callable, tmp_path: Path) -> None:
    src = sources("tcp://127.0.0.1:0", spool_dir=str(tmp_path / "spool"), family="orders")
    sent = [f'us,{1_800_000_000 + i},{{"n": {i}}}' for i in range(50)]
    with connect(src) as c:
        c.sendall("".join(s + "\n" for s in sent).encode())
        assert collect(src, 50) == sent
    src.close()  # flushes and closes the spool file
    files = sorted((tmp_path / "spool").iterdir())
    assert len(files) == 1 and files[0].name == time.strftime("orders.%Y%m%d.log", time.gmtime())
    reader = HistoryReader(spool_glob(str(tmp_path / "spool"), "orders"))
    assert [line for _p, lines in reader.read(1000) for line in lines] == sent


# --------------------------------------------------------------------------- syslog


def frame5424(program: str, msg: str) -> bytes:
    return f'<14>1 2026-11-25T10:00:00Z web1 {program} 42 - [x@1 k="v"] {msg}'.encode()


def test_syslog_tcp_octet_counting_newlines_garbage_and_routing(sources: Callable) -> None:
    port = free_port()
    php = sources(f"syslog+tcp://127.0.0.1:{port}", program="phperror", max_line_bytes=200)
    mongo = sources(f"syslog+tcp://127.0.0.1:{port}", program="mongoerror")
    assert mongo._listener is php._listener  # one socket, two families
    f1 = frame5424("phperror", "us,1,one")
    big = frame5424("phperror", "us,2," + "y" * 1000)
    f3 = frame5424("mongoerror", "de,3,mongo")
    stream = (
        b"%d %s" % (len(f1), f1)  # octet counting
        + b"%d %s" % (len(big), big)  # oversized: cut, the rest skipped
        + b"hello world\n"  # garbage: skipped to the newline
        + b"123456789012345678\n"  # a length that never ends: garbage
        + f3
        + b"\n"  # newline framing
        + b"<13>Nov 25 10:00:00 web1 other: us,4,nobody wants this\n"
        + b"%d %s" % (len(f1), f1)
    )
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as c:
        for i in range(0, len(stream), 7):  # frames split at every possible place
            c.sendall(stream[i : i + 7])
        cut = parse_syslog(big[:200])  # the frame is cut to the bound, then read
        assert cut is not None and cut[0] == "phperror"
        assert collect(php, 3) == ["us,1,one", cut[1], "us,1,one"]
        assert collect(mongo, 1) == ["de,3,mongo"]
    info = conn_info(php, lambda f: f.closed)
    assert (info.garbage, info.overlong, info.unrouted, info.received) == (2, 1, 2, 3)
    assert conn_info(mongo, lambda f: f.closed).unrouted == 4


def test_syslog_udp_datagrams(sources: Callable) -> None:
    src = sources("udp://127.0.0.1:0", program="phperror")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        for frame in (
            frame5424("phperror", "us,1,a"),
            b"garbage",
            b"<13>Nov 25 10:00:00 web1 phperror: us,2,b\n",
            frame5424("other", "us,3,c"),
            frame5424("phperror", "us,4,line one\nus,5,line two"),
        ):
            u.sendto(frame, src.address)
        assert collect(src, 4) == ["us,1,a", "us,2,b", "us,4,line one", "us,5,line two"]
    info = conn_info(src, lambda f: f.garbage == 1 and f.unrouted == 1)
    assert info.path == "udp://127.0.0.1:0#1"


LOGGER = shutil.which("logger")


@pytest.mark.parametrize(
    ("listen", "args"),
    [
        ("syslog+tcp", ["--tcp", "--rfc5424"]),
        ("syslog+tcp", ["--tcp", "--rfc3164"]),
        ("syslog+tcp", ["--tcp", "--rfc5424", "--octet-count"]),
        ("udp", ["--udp", "--rfc5424"]),
        ("udp", ["--udp", "--rfc3164"]),
    ],
)
def test_util_linux_logger(sources: Callable, listen: str, args: list[str]) -> None:
    src = sources(f"{listen}://127.0.0.1:0", program="phperror")
    msg = "us,1800000000,PHP Warning: x, y and z"
    if LOGGER:
        cmd = [LOGGER, "--server", "127.0.0.1", "--port", str(port_of(src)), *args]
        subprocess.run([*cmd, "-t", "phperror", msg], check=True, timeout=WAIT)
        subprocess.run([*cmd, "-t", "someoneelse", "us,1,ignored"], check=True, timeout=WAIT)
    else:
        # No util-linux here: the very frames logger sends, crafted in Python.
        print("logger(1) not found: sending logger's frames from Python instead")
        bsd = "--rfc3164" in args
        frames = [
            (f"<13>Nov 25 13:59:09 vm {tag}: {m}" if bsd else
             f'<13>1 2026-11-25T13:59:09.27+00:00 vm {tag} - - [timeQuality tzKnown="1"] {m}').encode()
            for tag, m in (("phperror", msg), ("someoneelse", "us,1,ignored"))
        ]  # fmt: skip
        for f in frames:
            if listen == "udp":
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                    u.sendto(f, src.address)
            else:
                with connect(src) as c:
                    c.sendall(b"%d %s" % (len(f), f) if "--octet-count" in args else f + b"\n")
    assert collect(src, 1) == [msg]
    assert src.wait_until(lambda: sum(f.unrouted for f in src.files) == 1, WAIT)


def test_logger_is_installed_for_the_suite() -> None:
    if not LOGGER:
        pytest.skip("util-linux logger absent: the logger tests sent Python-crafted frames")
    out = subprocess.run([LOGGER, "--version"], capture_output=True, text=True, check=True)
    assert "util-linux" in out.stdout


def test_one_address_one_protocol(sources: Callable) -> None:
    port = free_port()
    a = sources(f"syslog+tcp://127.0.0.1:{port}", program="a")
    b = sources(f"syslog+tcp://127.0.0.1:{port}", program="b")
    assert a._listener is b._listener
    with pytest.raises(OSError, match="another protocol"):
        ReceiverSource(f"tcp://127.0.0.1:{port}")
    # The listener closes with its last guard; the port is free again.
    a.close()
    b.close()
    again = sources(f"tcp://127.0.0.1:{port}")
    assert port_of(again) == port
