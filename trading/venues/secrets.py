"""Credentials come from the environment only, and never leave the process in clear text.

The config names the environment variables; their values are read when a venue is built and
registered here so that every message Keel or ccxt logs, and every error it raises, is scrubbed
of them. ccxt logs request headers (where most exchanges put the API key) at DEBUG level.

Scrubbing happens where log records are made (the logging record factory), not in a filter on
some handlers: a handler added later, or a logger that does not propagate, still only ever sees
clean records. Secrets of any length are scrubbed; short ones (an OKX passphrase) only where they
stand as a whole token, so that a 4-character passphrase does not blank out every word.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass

_lock = threading.Lock()
_known: set[str] = set()
_SHORT_SECRET_LEN = 8  # shorter secrets are matched as whole tokens only
_short_patterns: dict[str, re.Pattern[str]] = {}
# Request signatures are not secrets, but there is no reason to print them either.
_SIGNATURE = re.compile(
    r"(signature|sign|OK-ACCESS-SIGN|X-BAPI-SIGN)(['\"=:\s]+)([A-Za-z0-9+/=_-]{16,})"
)
REDACTED = "***"


class MissingCredentialError(ValueError):
    """A venue needs a credential whose environment variable is unset."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """What ccxt needs to sign requests. ``repr`` never shows the values."""

    api_key: str | None
    secret: str | None
    password: str | None

    def __repr__(self) -> str:
        shown = {k: REDACTED if v else None for k, v in self.as_ccxt().items()}
        return f"Credentials({shown})"

    def as_ccxt(self) -> dict[str, str]:
        """ccxt constructor keys for the values that are set."""
        pairs = {"apiKey": self.api_key, "secret": self.secret, "password": self.password}
        return {k: v for k, v in pairs.items() if v}


def read_credentials(
    venue: str, api_key_env: str | None, secret_env: str | None, password_env: str | None
) -> Credentials:
    """Read the named environment variables; a named but unset variable is an error that says
    which one to export (its value is never printed)."""
    values: dict[str, str | None] = {}
    for field, key, env in (
        ("api_key", "api_key_env", api_key_env),
        ("secret", "secret_env", secret_env),
        ("password", "password_env", password_env),
    ):
        if env is None:
            values[field] = None
            continue
        value = os.environ.get(env)
        if not value:
            raise MissingCredentialError(
                f"venue {venue!r}: environment variable {env} (its {field}) is not set; "
                f"export it, or remove {key} from the venue's config for public data only"
            )
        values[field] = value
        register_secret(value)
    return Credentials(values["api_key"], values["secret"], values["password"])


def register_secret(value: str) -> None:
    """Scrub this value, whatever its length, from everything ``redact`` and every log record
    see from now on."""
    if value:
        with _lock:
            _known.add(value)
            if len(value) < _SHORT_SECRET_LEN:
                token = rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])"
                _short_patterns[value] = re.compile(token)
    install_log_filter()


def redact(text: str) -> str:
    """The text with every registered secret and every request signature replaced."""
    with _lock:
        secrets = sorted(_known, key=len, reverse=True)
        short = dict(_short_patterns)
    for secret in secrets:
        if secret in text:
            pattern = short.get(secret)
            text = pattern.sub(REDACTED, text) if pattern else text.replace(secret, REDACTED)
    return _SIGNATURE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


def _scrub(record: logging.LogRecord) -> None:
    """Rewrite a record's message and exception text with secrets removed."""
    try:
        message = record.getMessage()
    except Exception:  # a record whose args do not fit its format: leave it to logging
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        import traceback

        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        clean = redact(text)
        if clean != text:
            record.exc_text = clean


_factory_lock = threading.Lock()
_installed_factory: list[object] = []


def _install_record_factory() -> None:
    """Wrap the logging record factory once, so every record is scrubbed at birth."""
    with _factory_lock:
        current = logging.getLogRecordFactory()
        if _installed_factory and current is _installed_factory[0]:
            return
        inner = current

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            record = inner(*args, **kwargs)  # type: ignore[arg-type]
            if _known or record.name.startswith("ccxt"):
                _scrub(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed_factory[:] = [factory]


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with secrets removed (it never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactingFilter()


def install_log_filter() -> None:
    """Scrub every log record at creation (record factory), and keep the filter on ccxt's
    loggers and the root logger's handlers as a second line (idempotent)."""
    _install_record_factory()
    for name in ("ccxt", "ccxt.base.exchange"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
