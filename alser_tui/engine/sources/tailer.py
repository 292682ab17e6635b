"""Follow one file like ``tail -F``: complete lines only, a resumable position, rotation-proof.

The hot path is bulk work on large chunks: one ``read`` of up to ``chunk_size`` bytes, one
``decode`` and one ``split`` per chunk.  Per-line Python work happens only on the rare slow
paths (overlong lines).
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

MAX_LINE_BYTES = 1 << 20
CHUNK_SIZE = 1 << 20
# Smallest read when only a few lines are wanted; keeps many idle-ish files from each
# pinning a full chunk in memory when the follower hands out small quotas.
MIN_READ = 64 << 10
FINGERPRINT_BYTES = 256
# A file's content is known by its inode and the digest of its first bytes as read, up to
# HEAD_BYTES: checked whenever the file is opened, grows or shrinks, so a file rewritten in
# place (or a reused inode) that still starts with the same header line is not resumed in
# the middle of new lines. A digest covers only bytes that were read, so a file matching it
# holds them: resuming after them skips nothing unseen; a copy made while the original is
# still being read needs the full HEAD_BYTES to be told from a file with a constant header.
HEAD_BYTES = 4096
GZIP_MAGIC = b"\x1f\x8b"

Identity = tuple[int, int]


@dataclass(frozen=True, slots=True)
class FileState:
    """Where reading of one file stopped: offset is just after the last line returned."""

    path: str
    dev: int
    inode: int
    fingerprint: str
    offset: int
    # "n:hash" of the first n = min(HEAD_BYTES, offset) bytes: exactly the bytes read (see
    # HEAD_BYTES), so a file starting with them holds what was read; "" when unknown.
    head: str = field(default="", compare=False)
    # A content that is no longer at its inode (cut or rewritten in place): kept so that a
    # copy of it (copytruncate) resumes at its offset instead of being read again.
    cut: bool = field(default=False, compare=False)

    @property
    def identity(self) -> tuple[int, int]:
        return (self.dev, self.inode)


def fingerprint(head: bytes) -> tuple[str, bool]:
    """(fingerprint, final) of a file whose first bytes are ``head``.

    The hashed prefix is the first line (with its newline) capped at FINGERPRINT_BYTES.  Its
    length is part of the string ("n:hash") so a fingerprint taken while the first line was
    still incomplete can later be checked against the first n bytes: it stays valid as the
    line grows.  ``final`` is False while the prefix may still grow.
    """
    head = head[:FINGERPRINT_BYTES]
    if not head:
        return "", False
    nl = head.find(b"\n")
    if nl >= 0:
        head = head[: nl + 1]
    final = nl >= 0 or len(head) >= FINGERPRINT_BYTES
    return f"{len(head)}:{hashlib.blake2b(head, digest_size=8).hexdigest()}", final


def fingerprint_matches(head: bytes, fp: str) -> bool:
    """Does a file starting with ``head`` carry fingerprint ``fp``?  "" (empty file) matches any."""
    if not fp:
        return True
    n_text, _, digest = fp.partition(":")
    try:
        n = int(n_text)
    except ValueError:
        return False
    return len(head) >= n and hashlib.blake2b(head[:n], digest_size=8).hexdigest() == digest


def head_digest(head: bytes) -> str:
    return f"{len(head)}:{hashlib.blake2b(head, digest_size=8).hexdigest()}" if head else ""


def head_matches(head: bytes, digest: str) -> bool:
    """Does a file starting with ``head`` begin with the bytes ``digest`` names?  An empty
    digest names nothing: it matches no file."""
    return bool(digest) and fingerprint_matches(head, digest)


def digest_length(digest: str) -> int:
    """n of an "n:hash" digest (-1 when malformed, 0 for "")."""
    return _fingerprint_length(digest) if digest else 0


def _fingerprint_length(fp: str) -> int:
    n_text, _, _ = fp.partition(":")
    return int(n_text) if n_text.isdigit() else -1


class LineSplitter:
    """Cuts a byte stream into complete lines (UTF-8, errors replaced, "\\r\\n" -> line).

    A line longer than max_line_bytes is cut to that many bytes and the rest of it skipped,
    so the buffer never holds more than max_line_bytes plus one read.
    """

    __slots__ = ("_buf", "_skip", "max_line_bytes", "overlong")

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        if max_line_bytes < 1:
            raise ValueError("max_line_bytes must be >= 1")
        self.max_line_bytes = max_line_bytes
        self.overlong = 0
        self._buf = b""
        self._skip = False  # inside the discarded rest of an overlong line

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> None:
        self._buf = self._buf + data if self._buf else data

    def reset(self) -> None:
        self._buf = b""
        self._skip = False

    def skip_line(self) -> None:
        """The stream starts inside a line: discard up to its end."""
        self._skip = True

    def take(self, limit: int, out: list[str]) -> int:
        """Append up to ``limit`` complete lines to ``out``; return the bytes consumed."""
        if limit <= 0:
            return 0
        buf = self._buf
        consumed = 0
        if self._skip:
            nl = buf.find(b"\n")
            if nl < 0:
                self._buf = b""
                return len(buf)
            self._skip = False
            consumed = nl + 1
            buf = buf[consumed:]
        end = buf.rfind(b"\n")
        if end >= 0:
            count = buf.count(b"\n", 0, end + 1)
            if count > limit:
                # Only the first `limit` lines: the end is the limit-th newline.
                end = len(buf) - len(buf.split(b"\n", limit)[limit]) - 1
                count = limit
            out.extend(self._decode(buf, end))
            consumed += end + 1
            buf = buf[end + 1 :]
            limit -= count
        m = self.max_line_bytes
        if limit > 0 and len(buf) > m and not (len(buf) == m + 1 and buf[-1] == 13):
            # A partial line already past the limit: emit its head now, skip the rest later.
            # (Not when one more byte is a "\r" that the coming "\n" will strip.)
            out.append(buf[:m].decode("utf-8", "replace"))
            self.overlong += 1
            consumed += len(buf)
            buf = b""
            self._skip = True
        self._buf = buf
        return consumed

    def flush(self, out: list[str]) -> int:
        """The end of the stream: the unterminated last line counts as a line."""
        buf, self._buf = self._buf, b""
        if self._skip:
            self._skip = False
            return len(buf)
        if not buf:
            return 0
        line = buf[:-1] if buf.endswith(b"\r") else buf
        if len(line) > self.max_line_bytes:
            line = line[: self.max_line_bytes]
            self.overlong += 1
        out.append(line.decode("utf-8", "replace"))
        return len(buf)

    def _decode(self, buf: bytes, end: int) -> list[str]:
        """The lines of buf[:end] (end = index of the last newline taken)."""
        limit = self.max_line_bytes
        if end > limit and self._has_overlong(buf, end):
            return self._decode_slow(buf[:end])
        text = buf[:end].decode("utf-8", "replace")
        if "\r" in text:
            # Every line in the region is followed by "\n", except the last one whose
            # newline sits at `end`, so these two rules strip exactly the line-ending "\r"s.
            text = text.replace("\r\n", "\n")
            if text.endswith("\r"):
                text = text[:-1]
        return text.split("\n")

    def _has_overlong(self, buf: bytes, end: int) -> bool:
        # A line longer than M bytes spans more than M positions, so it contains a multiple
        # of M: checking the line around each multiple finds it without splitting everything.
        # After a short line, jump to the first multiple past its end (bounded by the lines).
        m = self.max_line_bytes
        p = m
        while p < end:
            start = buf.rfind(b"\n", 0, p) + 1
            stop = buf.find(b"\n", p, end + 1)
            if stop < 0:
                stop = end
            if stop - start > m:
                return True
            p = (stop // m + 1) * m
        return False

    def _decode_slow(self, region: bytes) -> list[str]:
        m = self.max_line_bytes
        lines = []
        for part in region.split(b"\n"):
            if part.endswith(b"\r"):
                part = part[:-1]
            if len(part) > m:
                part = part[:m]
                self.overlong += 1
            lines.append(part.decode("utf-8", "replace"))
        return lines


# Errors opening a file that say nothing of the file: the process or the system is out of
# descriptors. The file is there; it is not followed until a descriptor is free.
OUT_OF_FILES = (errno.EMFILE, errno.ENFILE)


def _open_regular(path: str) -> tuple[int, os.stat_result] | int:
    """An fd on a regular file, or the errno why not (0: not a regular file).  O_NONBLOCK: a
    FIFO must never block the engine."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        return exc.errno or -1
    try:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode):
            return fd, st
    except OSError:
        pass
    os.close(fd)
    return 0


class FileTailer:
    """Follows one path like ``tail -F``; ``read()`` returns only complete lines.

    Start position: a state of ``resume`` whose identity (dev, inode, fingerprint) matches
    the file resumes at its offset (see ``_position`` for a file now shorter); otherwise the
    end of the file if ``at_end`` (the start of the last, unfinished line, so it is returned
    whole once its newline arrives), otherwise 0.  A file that only appears later, or that
    replaces the one followed, is read from 0 unless ``known`` has a state for it (a symlink
    swapped back to a file read before).  A path that comes to name a file another tailer
    already follows (``held`` names that tailer's path) is left alone, ``alias_of`` set, until
    it names another file: one inode is read once, however many names reach it.  A
    gzip-compressed file is never read as text: it
    is marked ``compressed`` and left at its end (live logs are not compressed; a rotated
    copy is, and its lines were counted from the live file).
    Errors never raise: they leave the tailer at EOF with ``error`` set, to retry later.
    """

    def __init__(
        self,
        path: str,
        *,
        resume: FileState | Iterable[FileState] | None = None,
        at_end: bool = False,
        max_line_bytes: int = MAX_LINE_BYTES,
        chunk_size: int = CHUNK_SIZE,
        known: Callable[[Identity], list[FileState]] | None = None,
        held: Callable[[Identity], str | None] | None = None,
    ) -> None:
        self.path = path
        self.real_path = path  # the file itself when path is a symlink (set on open)
        self.chunk_size = max(1, chunk_size)
        self.dev = 0
        self.inode = 0
        self.fingerprint = ""
        self.offset = 0  # just after the last line returned
        self.lines_read = 0
        self.last_line_at = 0.0  # wall clock of the last read that returned lines
        self.rotations = 0  # switched to another file at the path
        self.truncations = 0  # same file, cut or rewritten: restarted from 0
        self.missing = False  # the path names no file right now
        self.alias_of = ""  # the path names a file another tailer (of this path) follows
        self.out_of_files = False  # the last open failed for want of a descriptor
        self.at_eof = False
        self.compressed = False
        self.last_read_bytes = 0
        self.error: str | None = None
        # Final states of files this tailer left behind (rotation); the follower collects them,
        # with where each file really was (its path, or a symlink's target at the time).
        self.retired: list[FileState] = []
        self.retired_real: dict[Identity, str] = {}
        # States of contents emptied or rewritten in place (copytruncate): a copy of one, if
        # the glob matches it, resumes where reading of the original stopped.
        self.cut: list[FileState] = []
        self._splitter = LineSplitter(max_line_bytes)
        self._fd: int | None = None
        self._pos = 0  # fd position: offset + bytes buffered or skipped
        self._fp_final = False
        self._head = b""  # the first HEAD_BYTES of the file as read
        self._head_memo = (-1, "")  # (n, digest of the first n bytes of _head)
        self._known = known
        self._held = held
        if isinstance(resume, FileState):
            resume = (resume,)
        self._open(resume or (), at_end)

    # ------------------------------------------------------------------ public

    @property
    def overlong(self) -> int:
        return self._splitter.overlong

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    @property
    def identity(self) -> tuple[int, int]:
        return (self.dev, self.inode)

    @property
    def state(self) -> FileState:
        return FileState(
            self.path, self.dev, self.inode, self.fingerprint, self.offset, self._read_digest()
        )

    @property
    def size(self) -> int:
        if self._fd is None:
            return 0
        try:
            return os.fstat(self._fd).st_size
        except OSError:
            return 0

    @property
    def lag_bytes(self) -> int:
        return max(0, self.size - self.offset)

    def read(self, max_lines: int = 10_000, max_bytes: int = 0) -> list[str]:
        """Up to ``max_lines`` complete lines; also notices rotation, truncation, replacement.

        ``max_bytes`` (0: no limit) ends the call early once that many bytes were taken, so
        that a batch of long lines stays small in memory (``at_eof`` stays False then).
        ``last_read_bytes`` tells how many bytes the call took.
        """
        out: list[str] = []
        self.last_read_bytes = 0
        if max_lines <= 0:
            return out
        if self._fd is None and not self._open((), False):
            self.at_eof = True
            return out
        if self.compressed:
            self.at_eof = True
            return out
        splitter = self._splitter
        read_size = min(self.chunk_size, max(MIN_READ, max_lines * 512))
        eof_checks = 0
        taken = 0
        try:
            if self.at_eof:
                # Idle since the last call: if the file was cut and has regrown past our
                # position meanwhile, reading on would return the middle of new lines.
                self._check_in_place()
            while True:
                n = splitter.take(max_lines - len(out), out)
                self.offset += n
                taken += n
                if len(out) >= max_lines or (max_bytes and taken >= max_bytes):
                    self.at_eof = False
                    break
                data = os.read(self._fd, read_size)  # type: ignore[arg-type]
                if data:
                    if self._pos == 0 and data.startswith(GZIP_MAGIC):
                        # Written after we opened it empty (gzip creates, then fills).
                        self._mark_compressed(os.fstat(self._fd).st_size)  # type: ignore[arg-type]
                        break
                    splitter.feed(data)
                    self._pos += len(data)
                    continue
                # Bounded: a size that lies (stale NFS attributes) must not spin us here.
                eof_checks += 1
                if eof_checks > 4 or not self._more_after_eof(read_size):
                    self.at_eof = True
                    break
            if not self._fp_final and self._fd is not None:
                self._refresh_fingerprint()  # the first line may be complete by now
            if (
                len(self._head) < HEAD_BYTES
                and self._pos > len(self._head)
                and self._fd is not None
            ):
                self._set_head(os.pread(self._fd, HEAD_BYTES, 0))
        except OSError as exc:
            # EIO, ESTALE on a network mount...: keep what we have, retry on the next call.
            self.error = f"{self.path}: {exc.strerror or exc}"
            self.at_eof = True
        if out:
            self.lines_read += len(out)
            self.last_line_at = time.time()  # once per read, never per line
        self.last_read_bytes = taken
        return out

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FileTailer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FileTailer({self.path!r}, inode={self.inode}, offset={self.offset})"

    # ------------------------------------------------------------------ internals

    def _open(self, resume: Iterable[FileState], at_end: bool) -> bool:
        opened = _open_regular(self.path)
        if isinstance(opened, int):
            self.out_of_files = opened in OUT_OF_FILES
            self.missing = not self.out_of_files
            return False
        self.out_of_files = False
        fd, st = opened
        self.missing = False
        if self._held is not None:
            other = self._held((st.st_dev, st.st_ino))
            if other is not None and other != self.path:
                os.close(fd)
                self.alias_of = other
                return False
        self.alias_of = ""
        self._fd = fd
        self.dev, self.inode = st.st_dev, st.st_ino
        self.real_path = os.path.realpath(self.path)
        self.compressed = False
        self._splitter.reset()
        if not resume and self._known is not None:
            resume = self._known((st.st_dev, st.st_ino))
        try:
            self._position(st, resume, at_end)
        except OSError as exc:
            self.error = f"{self.path}: {exc.strerror or exc}"
            self.close()
            return False
        return True

    def _position(self, st: os.stat_result, resume: Iterable[FileState], at_end: bool) -> None:
        fd = self._fd
        assert fd is not None
        head = os.pread(fd, HEAD_BYTES, 0)
        self._set_head(head)
        self.fingerprint, self._fp_final = fingerprint(head)
        if head.startswith(GZIP_MAGIC):
            self._mark_compressed(st.st_size)
            return
        same_inode = [s for s in resume if (s.dev, s.inode) == (st.st_dev, st.st_ino)]
        matching = [s for s in same_inode if _holds(head, s)]
        for s in same_inode:
            if s not in matching and s.offset > 0 and s.head:
                # That content is gone from this inode (rewritten, or the inode reused): a
                # copy of it elsewhere resumes where it was read to.
                self.cut.append(replace(s, cut=True))
        if matching:
            # Several can match: a state saved while the head was shorter also matches
            # later ones.  The longest head (then fingerprint) is the most recent.
            saved = max(
                matching,
                key=lambda s: (digest_length(s.head), _fingerprint_length(s.fingerprint)),
            )
            start = saved.offset
            if start > st.st_size:
                # Cut short while we were away with its head intact: what is left was read
                # already. (A state from before heads were kept proves too little: all new.)
                start = st.st_size if saved.head else 0
        elif at_end and not same_inode:
            # (A known inode with another first line was rewritten: all of it is new.)
            start = self._last_line_start(st.st_size)
        else:
            start = 0
        os.lseek(fd, start, os.SEEK_SET)
        self.offset = self._pos = start

    def _last_line_start(self, size: int) -> int:
        """Where the last (maybe unfinished) line begins, so that it is not returned cut."""
        window = min(size, self._splitter.max_line_bytes)
        tail = os.pread(self._fd, window, size - window)  # type: ignore[arg-type]
        nl = tail.rfind(b"\n")
        if nl >= 0:
            return size - window + nl + 1
        if window == size:
            return 0  # a single unfinished first line
        self._splitter.skip_line()  # mid-way into an overlong line
        return size

    def _more_after_eof(self, read_size: int) -> bool:
        """At EOF of our fd: look at the path.  True when there is something new to read."""
        try:
            st = os.stat(self.path)
        except OSError:
            self.missing = True  # deleted or renamed away: keep the fd, it may come back
            return False
        self.missing = False
        if (st.st_dev, st.st_ino) != (self.dev, self.inode):
            # Rotated (renamed/deleted and re-created, symlink swapped).  Drain the old file
            # first: a writer may have appended between our EOF and the switch.
            data = os.read(self._fd, read_size)  # type: ignore[arg-type]
            if data:
                self._splitter.feed(data)
                self._pos += len(data)
                return True
            self.retired.append(self.state)
            self.retired_real[self.identity] = self.real_path
            del self.retired[:-16]  # nobody collects them when used alone
            while len(self.retired_real) > 16:
                del self.retired_real[next(iter(self.retired_real))]
            self.close()
            self.rotations += 1
            return self._open((), False)
        if st.st_size < self._pos:
            self._shrunk(st.st_size)
            return True
        if self._rewritten():
            self._restart()
            return True
        return st.st_size > self._pos

    def _check_in_place(self) -> None:
        size = os.fstat(self._fd).st_size  # type: ignore[arg-type]
        if size < self._pos:
            self._shrunk(size)
        elif size > self._pos and self._rewritten():
            self._restart()

    def _shrunk(self, size: int) -> None:
        """Same inode, now shorter than our position: copytruncate (emptied, refilled with
        other lines: read it from 0), or cut short in place with its head intact (what is
        left was read: go on from the new end, so nothing is counted twice)."""
        n = min(len(self._head), self._pos)
        if n and size >= n and os.pread(self._fd, n, 0) == self._head[:n]:  # type: ignore[arg-type]
            self.truncations += 1
            start = min(self.offset, size)
            os.lseek(self._fd, start, os.SEEK_SET)  # type: ignore[arg-type]
            self.offset = self._pos = start
            self._splitter.reset()
        else:
            self._restart()

    def _set_head(self, head: bytes) -> None:
        self._head = head
        self._head_memo = (-1, "")

    def _read_digest(self) -> str:
        """The digest of the bytes read so far, up to HEAD_BYTES (see HEAD_BYTES)."""
        n = min(self.offset, len(self._head))
        if self._head_memo[0] != n:
            self._head_memo = (n, head_digest(self._head[:n]))
        return self._head_memo[1]

    def _rewritten(self) -> bool:
        """The file no longer starts with the bytes read from it (replaced in place, or cut
        and refilled past our position between two looks)."""
        n = min(len(self._head), self._pos)
        head = os.pread(self._fd, max(n, FINGERPRINT_BYTES), 0)  # type: ignore[arg-type]
        if head[:n] != self._head[:n] or not fingerprint_matches(head, self.fingerprint):
            return True
        if not self._fp_final:
            self.fingerprint, self._fp_final = fingerprint(head)
        return False

    def _mark_compressed(self, size: int) -> None:
        # Nothing in it is a line: stand at its end so it never holds the windows back.
        self.compressed = True
        self._splitter.reset()
        self.offset = self._pos = size
        self.at_eof = True

    def _refresh_fingerprint(self) -> bool:
        """False when the file no longer starts as it did (replaced in place)."""
        head = os.pread(self._fd, FINGERPRINT_BYTES, 0)  # type: ignore[arg-type]
        if not fingerprint_matches(head, self.fingerprint):
            return False
        if not self._fp_final:
            self.fingerprint, self._fp_final = fingerprint(head)
        return True

    def _restart(self) -> None:
        self.truncations += 1
        if self.offset > 0:
            self.cut.append(replace(self.state, cut=True))
            del self.cut[:-4]
        os.lseek(self._fd, 0, os.SEEK_SET)  # type: ignore[arg-type]
        self.offset = self._pos = 0
        self._splitter.reset()
        head = os.pread(self._fd, HEAD_BYTES, 0)  # type: ignore[arg-type]
        self._set_head(head)
        self.fingerprint, self._fp_final = fingerprint(head)


def _holds(head: bytes, state: FileState) -> bool:
    """Does a file starting with ``head`` hold the content ``state`` was read from?  By its
    head digest; a state from before heads were kept, by its first-line fingerprint."""
    if state.head:
        return head_matches(head, state.head)
    return fingerprint_matches(head, state.fingerprint)
