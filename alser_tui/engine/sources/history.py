"""Read old files once, from their start (``--history``): plain or gzip, in path order."""

from __future__ import annotations

import glob
import gzip
import io
import os
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from .tailer import CHUNK_SIZE, MAX_LINE_BYTES, LineSplitter

GZIP_MAGIC = b"\x1f\x8b"


def open_history_file(path: str) -> io.BufferedIOBase:
    """A binary stream of the file's content, gunzipped when it starts with the gzip magic
    (rotated logs are not always named *.gz, and a *.gz name may hide a plain file)."""
    raw = open(path, "rb")
    try:
        magic = raw.read(2)
        raw.seek(0)
        if magic == GZIP_MAGIC:
            return gzip.GzipFile(fileobj=raw, mode="rb")
    except BaseException:
        raw.close()
        raise
    return raw


class HistoryReader:
    """Every file matching ``pattern`` (sorted by path), each read once from its start.

    Same line rules as the live tailer, except that the last line of a file counts even
    without its newline: the file is finished.  Unreadable or corrupt files are recorded in
    ``errors`` (path, problem) and skipped; a truncated gzip keeps the lines before the cut.
    """

    def __init__(
        self,
        pattern: str,
        *,
        max_line_bytes: int = MAX_LINE_BYTES,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.pattern = pattern
        self.files = sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
        self.chunk_size = max(1, chunk_size)
        self.lines_read = 0
        self.bytes_read = 0  # uncompressed
        self.files_done = 0
        self.errors: list[tuple[str, str]] = []
        self._splitter = LineSplitter(max_line_bytes)
        self._next = 0
        self._stream: io.BufferedIOBase | None = None
        self._path: str | None = None

    @property
    def done(self) -> bool:
        return self._stream is None and self._next >= len(self.files)

    @property
    def current(self) -> str | None:
        return self._path

    @property
    def overlong(self) -> int:
        return self._splitter.overlong

    @property
    def last_error(self) -> str:
        """The last file that could not be read (whole or past a point), as the engine shows
        its sources' trouble; "" when none."""
        if not self.errors:
            return ""
        path, problem = self.errors[-1]
        more = len(self.errors) - 1
        return f"{path}: {problem}" + (f" (and {more} more unreadable files)" if more else "")

    def read(self, max_lines: int = 10_000) -> list[tuple[str, list[str]]]:
        """Up to ``max_lines`` lines, as (path, lines) per file, continuing across files."""
        batches: list[tuple[str, list[str]]] = []
        remaining = max_lines
        while remaining > 0 and not self.done:
            if self._stream is None and not self._open_next():
                continue
            path = self._path
            assert path is not None
            lines = self._read_file(remaining)
            if lines:
                batches.append((path, lines))
                remaining -= len(lines)
                self.lines_read += len(lines)
        return batches

    def hand_over(self) -> list[str]:
        """Leave the reading to others (replay workers, see plan_pieces): the reader is
        done; the errors they meet are added to ``errors``."""
        self.close()
        self._next = len(self.files)
        return list(self.files)

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
            self._path = None

    # ------------------------------------------------------------------ internals

    def _open_next(self) -> bool:
        path = self.files[self._next]
        self._next += 1
        try:
            self._stream = open_history_file(path)
        except OSError as exc:
            self.errors.append((path, exc.strerror or str(exc)))
            self.files_done += 1
            return False
        self._path = path
        self._splitter.reset()
        return True

    def _read_file(self, limit: int) -> list[str]:
        """Lines of the current file; closes it when it is consumed."""
        out: list[str] = []
        splitter = self._splitter
        stream = self._stream
        assert stream is not None
        while True:
            splitter.take(limit - len(out), out)
            if len(out) >= limit:
                return out
            try:
                # read1: one underlying read, so a gzip cut short raises only after the
                # data before the cut has been handed over.
                data = stream.read1(self.chunk_size)
            except (OSError, EOFError, zlib.error) as exc:
                # gzip.BadGzipFile is an OSError; EOFError = gzip cut short (still being
                # written, or damaged): keep what came before, as for a plain file.
                assert self._path is not None
                self.errors.append((self._path, str(exc) or type(exc).__name__))
                splitter.reset()  # the unfinished line before a cut is a fragment: drop it
                data = b""
            if not data:
                splitter.flush(out)
                self.close()
                self.files_done += 1
                return out
            self.bytes_read += len(data)
            splitter.feed(data)


# ---------------------------------------------------------------------- pieces of files

Piece = tuple[str, int, int | None]  # path, first byte, end byte (None: to the file's end)
PIECE_BYTES = 4 * 1024 * 1024
# A worker parses and stores a piece in batches of this many lines (or BATCH_BYTES of them):
# bigger than the live engine's batches (fewer transactions: -8% wall on the bench), and
# bounded in bytes for a gzip piece, which is a whole file.
PIECE_BATCH_LINES = 40_000
BATCH_BYTES = 8 << 20


def plan_pieces(files: list[str], piece_bytes: int = PIECE_BYTES) -> list[Piece]:
    """Cut plain files into pieces of about ``piece_bytes`` that end just after a newline,
    so that replay workers can each read their own (a gzip file stays whole: it cannot be
    entered in the middle). Files that cannot be opened are one piece: reading it reports
    the error as the reader would."""
    pieces: list[Piece] = []
    for path in files:
        try:
            with open(path, "rb") as f:
                if f.read(2) == GZIP_MAGIC:
                    pieces.append((path, 0, None))
                    continue
                size = os.fstat(f.fileno()).st_size
                start = 0
                while size - start > piece_bytes:
                    end = line_end_after(f, start + piece_bytes, size)
                    if end is None:
                        break
                    pieces.append((path, start, end))
                    start = end
                pieces.append((path, start, None))
        except OSError:
            pieces.append((path, 0, None))
    return pieces


def line_end_after(
    f: io.BufferedIOBase | BinaryIO, pos: int, size: int, block_size: int = CHUNK_SIZE
) -> int | None:
    """The offset just past the first newline at or after ``pos``, looking before ``size``
    (None: none there). Reads ``block_size`` bytes at a time."""
    f.seek(pos)
    while pos < size:
        block = f.read(block_size)
        if not block:
            return None
        i = block.find(b"\n")
        if i >= 0:
            return pos + i + 1
        pos += len(block)
    return None


def read_piece(
    piece: Piece,
    batch_lines: int,
    *,
    max_line_bytes: int = MAX_LINE_BYTES,
    chunk_size: int = CHUNK_SIZE,
    errors: list[tuple[str, str]] | None = None,
) -> Iterator[list[str]]:
    """The lines of one piece in batches, by the HistoryReader's rules (a piece that runs
    to the file's end counts its last line without a newline). Read errors go to
    ``errors`` as (path, problem), as HistoryReader records them."""
    path, start, end = piece
    splitter = LineSplitter(max_line_bytes)
    try:
        stream = open_history_file(path)
    except OSError as exc:
        if errors is not None:
            errors.append((path, exc.strerror or str(exc)))
        return
    with stream:
        if start:
            stream.seek(start)
        left = None if end is None else end - start
        out: list[str] = []
        size = 0
        while True:
            size += splitter.take(batch_lines - len(out), out)
            if len(out) >= batch_lines or (out and size >= BATCH_BYTES):
                yield out
                out = []
                size = 0
                continue
            want = chunk_size if left is None else min(chunk_size, left)
            try:
                data = stream.read1(want) if want > 0 else b""
            except (OSError, EOFError, zlib.error) as exc:
                if errors is not None:
                    errors.append((path, str(exc) or type(exc).__name__))
                splitter.reset()
                data = b""
            if not data:
                splitter.flush(out)
                if out:
                    yield out
                return
            if left is not None:
                left -= len(data)
            splitter.feed(data)
