"""Exec channel: run a configured command with the message document as JSON on stdin."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from alser_tui.engine.notify.base import DeliveryError, Sender
from alser_tui.engine.notify.config import ExecConfig


class ExecSender(Sender):
    config: ExecConfig

    def send(self, doc: dict[str, Any], ident: str) -> None:
        cfg = self.config
        data = json.dumps(doc, default=str).encode() + b"\n"
        env = {**os.environ, "ALSER_MESSAGE_ID": ident, "ALSER_MESSAGE_TYPE": doc["type"]}
        try:
            done = subprocess.run(
                list(cfg.command),
                input=data,
                capture_output=True,
                timeout=cfg.timeout,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DeliveryError(f"{cfg.command[0]}: timed out after {cfg.timeout:g}s") from None
        except OSError as exc:
            raise DeliveryError(f"{cfg.command[0]}: {exc.strerror or exc}") from None
        if done.returncode != 0:
            err = done.stderr.decode("utf-8", "replace").strip().splitlines()
            tail = f": {err[-1][:200]}" if err else ""
            raise DeliveryError(f"{cfg.command[0]} exited {done.returncode}{tail}")
