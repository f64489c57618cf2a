"""Credentials come from the environment only, and never leave the process in clear text.

The config names the environment variables; their values are read when a venue is built and
registered here so that every message Keel or ccxt logs, and every error it raises, is scrubbed
of them. ccxt logs request headers (where most exchanges put the API key) at DEBUG level, so the
filter sits on ccxt's own loggers too.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass

_lock = threading.Lock()
_known: set[str] = set()
_MIN_SECRET_LEN = 6
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
    """Scrub this value from everything ``redact`` and the log filter see from now on."""
    if len(value) >= _MIN_SECRET_LEN:
        with _lock:
            _known.add(value)
    install_log_filter()


def redact(text: str) -> str:
    """The text with every registered secret and every request signature replaced."""
    with _lock:
        secrets = sorted(_known, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return _SIGNATURE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


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
    """Attach the filter to ccxt's loggers and to the root logger's handlers (idempotent)."""
    for name in ("ccxt", "ccxt.base.exchange"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
