"""Credentials removed from everything pip-lambda writes: the terminal, logs, errors, reports, cache keys.

Two nets: any ``scheme://user:password@`` in a text keeps the user and loses
the password (``scheme://token@`` loses the token), as pip shows URLs; and the
secrets found in the command line and the environment (index URLs, find-links)
are replaced wherever they appear verbatim or percent-decoded, which catches a
tool that prints them outside a URL.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, urlsplit

MASK = "****"
MIN_SECRET = 4
"""Shorter secrets are masked inside URLs only: replacing them everywhere would garble the output."""
MIN_LONE_TOKEN = 12
"""A user name without a password (``https://TOKEN@host``) this long is taken for a token; ``git@`` is not."""

# The user part runs to the LAST "@" before the host's end, where pip (and urllib) split it, so a password with
# a raw "@" (user:p@ss@host) is masked whole; the user name ends at the first ":".
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^\s/?#:]*)(?::(?P<password>[^\s/?#]*))?@")
_URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"]+")
_known: set[str] = set()


def _mask(match: re.Match[str]) -> str:
    if match.group("password") is None:
        return f"{match.group('scheme')}{MASK}@"
    return f"{match.group('scheme')}{match.group('user')}:{MASK}@"


def secrets_in(text: str) -> set[str]:
    """The passwords (or lone tokens in the user part) of every URL in ``text``."""
    found: set[str] = set()
    for url in _URL_IN_TEXT.findall(text):
        try:
            parts = urlsplit(url)
        except ValueError:
            continue
        if "@" not in parts.netloc:
            continue
        userinfo = parts.netloc.rsplit("@", 1)[0]
        user, _, password = userinfo.partition(":")
        if password:
            found.update({password, unquote(password)})
        elif len(user) >= MIN_LONE_TOKEN:
            found.update({user, unquote(user)})
    return {secret for secret in found if len(secret) >= MIN_SECRET}


def remember(values: Iterable[str]) -> None:
    """Note the secrets in ``values`` (arguments, environment values) so every later redact() hides them."""
    for value in values:
        _known.update(secrets_in(value))


def remember_environment(environment: Mapping[str, str]) -> None:
    remember(value for value in environment.values() if "://" in value and "@" in value)


def redact(text: str, *, keep_user: bool = True) -> str:
    """``text`` with every credential masked.

    Without ``keep_user`` a URL's whole user part goes (``scheme://***@``), so
    the text (a cache key's) stays the same when only the credentials change.
    """
    text = _USERINFO.sub(_mask if keep_user else r"\g<scheme>***@", text)
    for secret in sorted(_known, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks credentials in every record before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True
