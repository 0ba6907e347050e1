"""Server-side scrubbing: secrets and personal data taken out of events before they are stored.

Replaced: payment card numbers (13 to 19 digits, Luhn-valid) → ``[card]``; email addresses →
``[email]``; bearer tokens and Authorization credentials → ``[token]``; URL passwords,
sensitive query parameters and ``password=…``-style pairs → ``[redacted]``; and whatever a
project's extra patterns match → ``[redacted]``.

Every input is attacker-controlled, so every built-in pattern is linear: no quantifier inside
another, every repetition bounded or possessive (``++``, which never gives characters back),
and each pattern anchored by a cheap literal or lookbehind so most positions fail at once.
Extra patterns come from the operator and run on RE2 (google-re2), whose matching time is
linear in the input whatever the pattern.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote_plus

import re2

from contracts.settings import ConfigError

MAX_PATTERNS = 50
MAX_PATTERN_LENGTH = 500

CARD = "[card]"
EMAIL = "[email]"
TOKEN = "[token]"  # noqa: S105 (the mark left in place of a token)
REDACTED = "[redacted]"

# A run of 13 or more digits, a single space or dash allowed between any two; ``_cards`` finds
# the card numbers (13 to 19 digits, Luhn-valid) in it. Possessive: the run is never re-split.
_DIGIT_RUN = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,}+", re.ASCII)
# Local part up to 64 characters (RFC 5321 §4.5.3.1.1), at most 8 labels before the TLD.
_EMAIL = re.compile(
    r"(?<![\w.%+-])[\w.%+-]{1,64}+@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,7}\.[A-Za-z]{2,24}(?![\w-])"
)
# "Authorization: <scheme> <credentials>" (RFC 9110 §11.6.2), as in header dumps and JSON.
_AUTHORIZATION = re.compile(
    r"""\b(authorization["']?\s{0,5}[:=]\s{0,5}["']?)(?:([A-Za-z][\w-]{0,19}+)\s{1,5}(?=[^\s"']))?[^\s"'<>,;]++""",
    re.IGNORECASE,
)
# RFC 6750 §2.1's b64token.
_BEARER = re.compile(r"\bbearer\s{1,10}([A-Za-z0-9\-._~+/]++=*+)", re.IGNORECASE)
# "user:password@" after a scheme, in URLs quoted inside free text.
_USERINFO = re.compile(r"(?<=://)([^\s/?#@:]{1,256}+):[^\s/?#@]{1,256}+@")
# "password=…", "client_secret: '…'", "\"api_key\": \"…\"": the name may carry a short prefix.
_PAIR = re.compile(
    r"""(?<![\w-])([\w-]{0,30}?(?:passw(?:or)?d|pwd|secret|token|(?:api|secret|private|access)[_-]?key|auth"""
    r"""|credentials?|session(?:[_-]?id)?|signature)["']?\s{0,5}[:=]\s{0,5})"""
    r"""("[^"\r\n]{0,1024}+"|'[^'\r\n]{0,1024}+'|[^\s"'&,;)}\]]++)""",
    re.IGNORECASE,
)

# Query parameter names that hold secrets, as whole names or as parts ("client_secret",
# "X-Amz-Signature", "user[password]").
SENSITIVE_PARAMS = frozenset(
    {
        "password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "access_token", "auth",
        "session", "sessionid", "key", "signature", "sig", "credential", "credentials",
    }
)  # fmt: skip
# Long enough not to occur by chance inside an innocent name, so matched anywhere in it.
_SENSITIVE_INSIDE = ("password", "passwd", "secret", "token", "apikey", "credential", "signature", "sessionid")
_NAME_PARTS = re.compile(r"[^a-z0-9]+")


def _compile_extra(pattern: str) -> Any:
    """An extra pattern on RE2; raises ``ValueError`` with RE2's reason when it does not compile."""
    options = re2.Options()
    options.log_errors = False  # RE2 would also print the error to stderr
    try:
        return re2.compile(pattern, options)
    except re2.error as e:
        reason = e.args[0] if e.args else "invalid"
        raise ValueError(reason.decode() if isinstance(reason, bytes) else str(reason)) from None


@dataclasses.dataclass(frozen=True)
class ScrubSettings:
    """A project's scrubbing beyond the built-in rules."""

    # RE2 syntax (no backreferences or lookaround); every match becomes "[redacted]".
    extra_patterns: tuple[str, ...] = ()

    @classmethod
    def from_toml(cls, table: Mapping[str, Any], where: str) -> ScrubSettings:
        """Settings from a config table; a bad value raises ``ConfigError`` naming ``where`` and the key."""
        for key in table:
            if key != "extra_patterns":
                raise ConfigError(f"{where}: unknown scrub setting {key}")
        raw = table.get("extra_patterns", [])
        if not isinstance(raw, list | tuple) or not all(isinstance(p, str) for p in raw):
            raise ConfigError(f"{where}: extra_patterns must be a list of strings")
        if len(raw) > MAX_PATTERNS:
            raise ConfigError(f"{where}: extra_patterns has {len(raw)} patterns, at most {MAX_PATTERNS} allowed")
        for i, pattern in enumerate(raw):
            if not pattern or len(pattern) > MAX_PATTERN_LENGTH:
                raise ConfigError(f"{where}: extra_patterns[{i}] must be 1 to {MAX_PATTERN_LENGTH} characters")
            try:
                compiled = _compile_extra(pattern)
            except ValueError as e:
                raise ConfigError(f"{where}: extra_patterns[{i}] is not a valid pattern: {e}") from None
            if compiled.search("") is not None:
                raise ConfigError(f"{where}: extra_patterns[{i}] matches the empty string")
        return cls(extra_patterns=tuple(raw))


def _luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = ord(char) - 48
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _card_end(groups: list[str], start: int) -> int | None:
    """The end of a card number written as ``groups[start:end]``, or ``None``."""
    number = ""
    for end in range(start, len(groups)):
        # Cards are printed in groups of 3 to 6 digits ("3782 822463 10005"); a lone "2" is
        # a quantity or a day, and skipping it keeps the search linear.
        if len(groups[end]) < 3 or len(number) + len(groups[end]) > 19:
            return None
        number += groups[end]
        if len(number) >= 13 and _luhn(number):
            return end + 1
    return None


def _cards(match: re.Match[str]) -> str:
    run = match.group()
    digits = run.replace(" ", "").replace("-", "")
    if len(digits) <= 19 and _luhn(digits):
        return CARD
    if " " not in run:  # one number (an id, an all-digit UUID, a timestamp) that is not a card
        return run
    # "qty 2 4111 1111 1111 1111": the card is some of the space-separated groups.
    pieces = run.split(" ")
    groups = [piece.replace("-", "") for piece in pieces]
    out: list[str] = []
    i = 0
    while i < len(pieces):
        end = _card_end(groups, i)
        if end is None:
            out.append(pieces[i])
            i += 1
        else:
            out.append(CARD)
            i = end
    return " ".join(out)


def _authorization(match: re.Match[str]) -> str:
    scheme = match.group(2)
    return f"{match.group(1)}{scheme} {TOKEN}" if scheme else f"{match.group(1)}{TOKEN}"


def _bearer(match: re.Match[str]) -> str:
    token = match.group(1)
    # "invalid bearer credentials": a plain lowercase word is prose, not a token.
    return match.group() if token.isalpha() and token.islower() else f"Bearer {TOKEN}"


def _pair(match: re.Match[str]) -> str:
    value = match.group(2)
    quote = value[0] if value[:1] in {'"', "'"} else ""
    return f"{match.group(1)}{quote}{REDACTED}{quote}"


def _extra(match: Any) -> str:
    # An operator's pattern may still match empty somewhere ("\b"): insert nothing there.
    return REDACTED if match.group() else ""


def sensitive_param(name: str) -> bool:
    """Whether a query parameter's name says its value is a secret."""
    lowered = unquote_plus(name[:256]).lower()
    if lowered in SENSITIVE_PARAMS or any(part in SENSITIVE_PARAMS for part in _NAME_PARTS.split(lowered)):
        return True
    return any(word in lowered for word in _SENSITIVE_INSIDE)


def _params(query: str) -> str:
    """``a=1&token=x`` → ``a=1&token=[redacted]``; everything else as it was, byte for byte."""
    out = []
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        out.append(f"{name}={REDACTED}" if eq and value and sensitive_param(name) else part)
    return "&".join(out)


# (pattern, replacement, needles): a rule runs only when the lowercased text holds one of its
# needles (or it has none), a literal every match contains; most texts skip most rules.
Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str] | str, tuple[str, ...]]
_PAIR_NEEDLES = ("pass", "pwd", "secret", "token", "key", "auth", "credential", "session", "signature")
# In this order: Authorization before Bearer, so "Authorization: Bearer x" keeps its scheme.
TEXT_RULES: tuple[Rule, ...] = (
    (_USERINFO, rf"\1:{REDACTED}@", ("@",)),
    (_AUTHORIZATION, _authorization, ("authorization",)),
    (_BEARER, _bearer, ("bearer",)),
    (_PAIR, _pair, _PAIR_NEEDLES),
    (_EMAIL, EMAIL, ("@",)),
    (_DIGIT_RUN, _cards, ()),
)
# A URL's own parts are taken apart by Scrubber.url; these catch what its path and values still hold.
URL_RULES: tuple[Rule, ...] = (
    (_USERINFO, rf"\1:{REDACTED}@", ("@",)),
    (_EMAIL, EMAIL, ("@",)),
    (_DIGIT_RUN, _cards, ()),
)


#: Scrubbed URLs a scrubber remembers (and their characters with their scrubbed forms, in all): pages and API
#: URLs repeat from event to event.
URL_CACHE_SIZE = 4096
URL_CACHE_BUDGET = 1_000_000
#: The longest text a scrubber remembers scrubbed, and the characters (texts and their
#: scrubbed forms together) it remembers in all before it starts again: the same error
#: comes with the same message and stack from every user it hits. One scrubber per
#: project, in the consumer and in every processor worker.
TEXT_CACHE_CHARS = 4096
TEXT_CACHE_BUDGET = 2_000_000


class _Memo(dict[str, str]):
    """Scrubbed forms of values seen before, emptied when one more would pass a bound.

    At most ``entries`` values, and ``chars`` characters of values and forms together;
    values longer than ``longest`` are scrubbed every time.
    """

    def __init__(self, *, entries: int, chars: int, longest: int) -> None:
        super().__init__()
        self.entries, self.chars, self.longest = entries, chars, longest
        self.size = 0  # characters held

    def scrubbed(self, value: str, scrub: Callable[[str], str]) -> str:
        found = self.get(value)
        if found is None:
            found = scrub(value)
            if len(value) <= self.longest:
                size = len(value) + len(found)
                if len(self) >= self.entries or self.size + size > self.chars:
                    self.clear()
                    self.size = 0
                self[value] = found
                self.size += size
        return found


class Scrubber:
    """The built-in rules plus a project's extra patterns, compiled once."""

    def __init__(self, settings: ScrubSettings) -> None:
        self._extras = tuple(_compile_extra(p) for p in settings.extra_patterns)
        self._urls = _Memo(entries=URL_CACHE_SIZE, chars=URL_CACHE_BUDGET, longest=TEXT_CACHE_CHARS)
        self._texts = _Memo(entries=sys.maxsize, chars=TEXT_CACHE_BUDGET, longest=TEXT_CACHE_CHARS)

    @staticmethod
    def _apply_rules(rules: tuple[Rule, ...], value: str) -> str:
        lowered = value.lower()
        for pattern, replacement, needles in rules:
            if needles and not any(needle in lowered for needle in needles):
                continue
            value = pattern.sub(replacement, value)
        return value

    def _extra(self, value: str) -> str:
        for extra in self._extras:
            value = extra.sub(_extra, value)
        return value

    def text(self, value: str) -> str:
        """A message, stack or breadcrumb with every rule applied."""
        return self._texts.scrubbed(value, self._text)

    def _text(self, value: str) -> str:
        return self._extra(self._apply_rules(TEXT_RULES, value))

    def url(self, value: str) -> str:
        """A URL with its password, sensitive query and fragment parameters, emails and cards replaced."""
        return self._urls.scrubbed(value, self._url)

    def _url(self, value: str) -> str:
        rest, hash_, fragment = value.partition("#")
        rest, question, query = rest.partition("?")
        scheme, sep, after = rest.partition("://")
        origin, path = "", rest
        if sep:
            netloc, slash, path = after.partition("/")
            userinfo, at, host = netloc.rpartition("@")
            if at and ":" in userinfo:
                netloc = f"{userinfo.partition(':')[0]}:{REDACTED}@{host}"
            # The origin is left to the extra patterns: "bob@shop.example" there is a user and a host.
            origin, path = f"{scheme}{sep}{netloc}", f"{slash}{path}"
        if question:
            query = _params(query)
        if hash_ and "=" in fragment:  # OAuth's implicit flow returns "#access_token=…"
            fragment = _params(fragment)
        return self._extra(origin + self._apply_rules(URL_RULES, f"{path}{question}{query}{hash_}{fragment}"))
