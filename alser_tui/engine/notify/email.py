"""Email: SMTP (STARTTLS or implicit TLS, AUTH) or sendmail, and the two digest policies.

Both generations of the original's mail digest are here as policies deciding *when* the
held alarms of a channel become one mail: the 2013 adaptive period and the later severity
pool. The body (one line per group, worst first) comes from render.py.
"""

from __future__ import annotations

import email.policy
import os
import smtplib
import ssl
import subprocess
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from alser_tui.engine.notify.base import DeliveryError, Sender
from alser_tui.engine.notify.config import ChannelConfig, EmailConfig
from alser_tui.engine.notify.render import html_body, lines, subject

# --------------------------------------------------------------------------- policies


@dataclass(slots=True)
class DigestState:
    """Persisted per channel (channel_state table)."""

    period: float
    due: float
    last_digest: float


@dataclass(frozen=True, slots=True)
class Held:
    """What a channel holds for its next digest."""

    count: int
    severity: float
    oldest: float | None


class AdaptivePeriod:
    """2013: every period, mail if at least ``line_threshold`` alarms wait; a busy period
    (>= ``backoff_threshold``) shortens the next one by ``sleep_step`` down to ``sleep_min``,
    one with too little to send lengthens it up to ``sleep_max``."""

    def __init__(
        self,
        start: float,
        step: float = 0,
        minimum: float | None = None,
        maximum: float | None = None,
        line_threshold: int = 1,
        backoff_threshold: int = 1 << 30,
    ) -> None:
        self.start = start
        self.step = step
        self.minimum = start if minimum is None else minimum
        self.maximum = start if maximum is None else maximum
        self.line_threshold = line_threshold
        self.backoff_threshold = backoff_threshold

    def initial(self, now: float) -> DigestState:
        return DigestState(self.start, now + self.start, 0.0)

    def accept(self, severity: float) -> bool:
        return True

    def due(self, st: DigestState, held: Held, now: float) -> bool:
        """Decide at ``now`` (outside quiet hours); advances the period when it ends."""
        if now < st.due:
            return False
        send = held.count >= self.line_threshold
        if held.count >= self.backoff_threshold:
            st.period = max(self.minimum, st.period - self.step)
        elif not send:
            st.period = min(self.maximum, st.period + self.step)
        st.due = now + st.period
        return send


class SeverityPool:
    """Later version: alarms under ``severity_threshold`` are not mailed; the rest wait until
    their severities add up to ``severity_pool_size``, at least ``interval`` after the last
    mail. ``pool_max_wait`` (ours) bounds how long a small pool may wait."""

    def __init__(self, cfg: EmailConfig) -> None:
        self.cfg = cfg

    def initial(self, now: float) -> DigestState:
        return DigestState(self.cfg.interval, now, 0.0)

    def accept(self, severity: float) -> bool:
        return severity >= self.cfg.severity_threshold

    def due(self, st: DigestState, held: Held, now: float) -> bool:
        c = self.cfg
        if not held.count or now - st.last_digest < c.interval:
            return False
        if held.severity >= c.severity_pool_size:
            return True
        return bool(
            c.pool_max_wait and held.oldest is not None and now - held.oldest >= c.pool_max_wait
        )


def digest_policy(cfg: ChannelConfig) -> AdaptivePeriod | SeverityPool:
    if isinstance(cfg, EmailConfig):
        if cfg.digest == "pool":
            return SeverityPool(cfg)
        return AdaptivePeriod(
            cfg.sleep_start,
            cfg.sleep_step,
            cfg.sleep_min,
            cfg.sleep_max,
            cfg.line_threshold,
            cfg.backoff_threshold,
        )
    # Other channels with per = "digest": a fixed period.
    return AdaptivePeriod(cfg.interval)


# --------------------------------------------------------------------------- sending


def build_message(cfg: EmailConfig, doc: dict[str, Any], ident: str) -> EmailMessage:
    # CRLF as SMTP wants; no folding below the RFC's 998 (the stdlib's fold at 78 splits
    # a subject with parentheses right after "Subject:", which some clients show badly).
    msg = EmailMessage(policy=email.policy.SMTP.clone(max_line_length=998))
    msg["Subject"] = subject(doc, cfg.subject_prefix)
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(cfg.to)
    msg["Date"] = formatdate(localtime=True)
    # Stable per outbox message (``ident``, nothing of the moment or the process): a copy
    # sent again after a crash carries the same id, so a mail system drops or threads it.
    domain = cfg.sender.rpartition("@")[2] or "localhost"
    msg["Message-ID"] = f"<alser.{ident}@{domain}>"
    msg.set_content("\n".join(lines(doc, cfg.max_groups)) + "\n")
    msg.add_alternative(html_body(doc, cfg.max_groups), subtype="html")
    return msg


class EmailSender(Sender):
    config: EmailConfig

    def __init__(self, config: EmailConfig, env: dict[str, str] | None = None) -> None:
        super().__init__(config)
        self.env = os.environ if env is None else env

    def send(self, doc: dict[str, Any], ident: str) -> None:
        msg = build_message(self.config, doc, ident)
        if self.config.transport == "sendmail":
            self._sendmail(msg)
        else:
            self._smtp(msg)

    def _sendmail(self, msg: EmailMessage) -> None:
        cmd = list(self.config.sendmail)
        try:
            done = subprocess.run(
                cmd, input=msg.as_bytes(), capture_output=True, timeout=self.config.timeout
            )
        except subprocess.TimeoutExpired:
            raise DeliveryError(f"{cmd[0]}: timed out") from None
        except OSError as exc:
            raise DeliveryError(f"{cmd[0]}: {exc.strerror or exc}") from None
        if done.returncode != 0:
            err = done.stderr.decode("utf-8", "replace").strip()
            raise DeliveryError(f"{cmd[0]} exited {done.returncode}: {err[:200]}")

    def _context(self) -> ssl.SSLContext:
        c = self.config
        ctx = ssl.create_default_context(cafile=c.ca_file or None)
        if not c.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def _smtp(self, msg: EmailMessage) -> None:
        c = self.config
        password = ""
        if c.user:
            password = self.env.get(c.password_env, "") if c.password_env else ""
            if c.password_env and not password:
                raise DeliveryError(f"environment variable {c.password_env} is not set")
        try:
            if c.tls == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    c.host, c.smtp_port, timeout=c.timeout, context=self._context()
                )
            else:
                smtp = smtplib.SMTP(c.host, c.smtp_port, timeout=c.timeout)
            with smtp:
                smtp.ehlo()
                if c.tls == "starttls":
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                if c.user:
                    _login(smtp, c.user, password)
                refused = smtp.send_message(msg)
                if refused:
                    bad = ", ".join(refused)
                    # Some got it: resending would double their copy.
                    raise DeliveryError(f"recipients refused: {bad}", permanent=True)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"authentication refused: {exc.smtp_code} {_text(exc)}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            bad = ", ".join(exc.recipients)
            raise DeliveryError(f"recipients refused: {bad}", permanent=True) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"server does not support it: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP {exc.smtp_code} {_text(exc)}") from None
        except smtplib.SMTPException as exc:
            raise DeliveryError(f"SMTP: {exc}") from None
        except ssl.SSLError as exc:
            raise DeliveryError(f"TLS: {exc.reason or exc}") from None
        except OSError as exc:
            raise DeliveryError(f"{c.host}:{c.smtp_port}: {exc.strerror or exc}") from None


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    # smtplib.login() tries every mechanism after a refusal, and some servers hang on the
    # second try; one clear answer from PLAIN (the common one under TLS) is better.
    mechanisms = smtp.esmtp_features.get("auth", "").upper().split()
    if "PLAIN" in mechanisms:
        smtp.user, smtp.password = user, password
        smtp.auth("PLAIN", smtp.auth_plain)
    else:
        smtp.login(user, password)


def _text(exc: smtplib.SMTPResponseException) -> str:
    err = exc.smtp_error
    return err.decode("utf-8", "replace") if isinstance(err, bytes) else str(err)
