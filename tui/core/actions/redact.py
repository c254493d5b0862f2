"""Hide credentials in what we show and log: argv flags, URLs, headers, JSON bodies, env.

Operators screenshot confirm dialogs and paste audit lines into tickets, so anything that
looks like a secret is replaced by `***` before it is displayed or written. The real values
are only ever handed to the process or the HTTP client.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

# A name (flag, header, query parameter, JSON key, env variable) that carries a credential.
_SECRET_NAME = re.compile(
    r"(pass(word|wd)?|secret|token|api[-_]?key|apikey|access[-_]?key|private[-_]?key|"
    r"auth|credential|cookie|signature|(^|[-_])sig($|[-_])|session|bearer)",
    re.IGNORECASE,
)
_FLAG = re.compile(r"^(--?[A-Za-z0-9][A-Za-z0-9_.-]*)(=(.*))?$", re.DOTALL)
_ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)


def is_secret_name(name: str) -> bool:
    """True when a flag/header/key name suggests its value is a credential."""
    return bool(_SECRET_NAME.search(name.lstrip("-")))


def redact_url(url: str) -> str:
    """Mask the userinfo password and secret-looking query parameters of a URL."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_name(k) for k, _ in pairs):
            query = urlencode(
                [(k, MASK if is_secret_name(k) else v) for k, v in pairs], safe="*/:@"
            )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _redact_word(word: str) -> str:
    if "://" in word:
        return redact_url(word)
    return word


def redact_argv(argv: Sequence[str]) -> list[str]:
    """Mask values of secret flags (`--token X`, `--token=X`), `NAME=X` pairs and URLs."""
    out: list[str] = []
    mask_next = False
    for word in argv:
        if mask_next:
            out.append(MASK)
            mask_next = False
            continue
        flag = _FLAG.match(word)
        if flag and is_secret_name(flag.group(1)):
            if flag.group(2) is not None:
                out.append(f"{flag.group(1)}={MASK}")
            else:
                out.append(word)
                mask_next = True
            continue
        assign = _ASSIGN.match(word)
        if assign and is_secret_name(assign.group(1)):
            out.append(f"{assign.group(1)}={MASK}")
            continue
        out.append(_redact_word(word))
    return out


def redact_header(name: str, value: str) -> str:
    """`Authorization: Bearer abc` -> `Bearer ***`; any secret-named header -> `***`."""
    if not is_secret_name(name):
        return value
    scheme, sep, _ = value.partition(" ")
    if sep and scheme.lower() in ("bearer", "basic", "token", "digest"):
        return f"{scheme} {MASK}"
    return MASK


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: redact_header(k, v) for k, v in headers.items()}


def redact_env(env: Mapping[str, str]) -> dict[str, str]:
    return {k: (MASK if is_secret_name(k) else v) for k, v in env.items()}


def redact_json(value: Any) -> Any:
    """Mask values under secret-named keys anywhere in a JSON-like structure."""
    if isinstance(value, Mapping):
        return {
            k: (MASK if isinstance(k, str) and is_secret_name(k) else redact_json(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_json(v) for v in value]
    if isinstance(value, str) and "://" in value:
        return redact_url(value)
    return value


def redact_text(text: str, secrets: Sequence[str]) -> str:
    """Mask known secret values wherever they appear in free text (process output)."""
    for s in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(s, MASK)
    return text
