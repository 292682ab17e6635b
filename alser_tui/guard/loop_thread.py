"""An asyncio loop on a daemon thread of its own: how the guard's console socket and its web
view serve beside the engine thread without ever blocking it.

A subclass writes ``_serve()`` (bind, set ``_ready``, then serve until cancelled); the
engine thread hands work over with ``call_soon``. A failure to serve is kept in ``error``
and raised by ``start_loop`` as OSError: the guard guards all the same without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any


class LoopThread:
    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.error = ""

    async def _serve(self) -> None:
        raise NotImplementedError

    def start_loop(self, name: str, timeout: float) -> None:
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._ready.wait(timeout)
        if self.error:
            raise OSError(self.error)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        try:
            loop.run_until_complete(self._serve())
        except asyncio.CancelledError:
            pass  # stop_loop()
        except Exception as exc:  # serving failing must not take the guard down
            self.error = f"{type(exc).__name__}: {exc}"
            self._ready.set()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Any thread: run ``fn(*args)`` on the loop; nothing once it is gone or closing."""
        loop = self.loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(fn, *args)

    def stop_loop(self, shut: Callable[[], None] | None = None) -> None:
        """Run ``shut`` on the loop, cancel every task there, and wait (bounded) for it."""
        loop = self.loop
        if loop is None or self._thread is None:
            return

        def cancel_all() -> None:
            if shut is not None:
                shut()
            for task in asyncio.all_tasks(loop):
                task.cancel()

        self.call_soon(cancel_all)
        self._thread.join(5)
