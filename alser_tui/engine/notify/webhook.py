"""Webhook channel: POST one JSON document per alarm or per digest."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from alser_tui.engine.notify.base import DeliveryError, Sender
from alser_tui.engine.notify.config import WebhookConfig
from alser_tui.engine.notify.render import generic_json, slack_json

# Worth retrying: the server is busy, rate limiting or broken for now.
_TRANSIENT = {408, 425, 429, 500, 502, 503, 504}


def payload(cfg: WebhookConfig, doc: dict[str, Any]) -> dict[str, Any]:
    return slack_json(doc) if cfg.template == "slack" else generic_json(doc)


class WebhookSender(Sender):
    config: WebhookConfig

    def send(self, doc: dict[str, Any], ident: str) -> None:
        cfg = self.config
        body = json.dumps(payload(cfg, doc), default=str).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "alser-tui",
            # Lets a receiver drop the rare duplicate after a crash between send and commit.
            "Idempotency-Key": ident,
        }
        headers.update(dict(cfg.headers))
        req = urllib.request.Request(cfg.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=cfg.timeout) as resp:
                resp.read(65536)
        except urllib.error.HTTPError as exc:
            detail = exc.read(200).decode("utf-8", "replace").strip()
            msg = f"HTTP {exc.code} {exc.reason}" + (f": {detail}" if detail else "")
            raise DeliveryError(msg, permanent=exc.code not in _TRANSIENT) from None
        except TimeoutError:
            raise DeliveryError(f"timed out after {cfg.timeout:g}s") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                raise DeliveryError(f"timed out after {cfg.timeout:g}s") from None
            raise DeliveryError(str(reason)) from None
