"""Sigma Computing URLs and signed embeds: the facts of Sigma's documentation in one place.

Pure Python on purpose (no Django, no settings, no network): callers pass the allowed hosts and the embed
credentials in, so every rule here is covered by table tests.

- `parse` turns whatever an author pasted into a `SigmaUrl`, or refuses it with `InvalidSigmaUrl`, whose
  message tells the author what a valid URL looks like.
- `with_params` adds display parameters (e.g. `responsive_height=true`) to a URL.
- `sign` mints a per-view secure embed URL (JWT method). A signed URL is never stored, cached or logged whole.
"""

from __future__ import annotations

import datetime
import enum
import ipaddress
import re
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl

import jwt

MAX_URL_LENGTH = 2048
DEFAULT_HOSTS = ("app.sigmacomputing.com",)
# The only URL parameters Sigma allows beside the JWT; the only ones we keep from a pasted URL.
DISPLAY_PARAMETERS = frozenset(
    {
        "hide_bookmarks",
        "hide_explore_toggle",
        "hide_folder_navigation",
        "hide_menu",
        "hide_tooltip",
        "lng",
        "lng_variant",
        "menu_position",
        "responsive_height",
        "theme",
    }
)
MAX_SIGNED_LIFETIME = datetime.timedelta(days=30)

_EXAMPLES = (
    "Paste a Sigma URL like https://app.sigmacomputing.com/embed/1-3UYrtvMY7HQPQgtIxBizvJ"
    " or https://app.sigmacomputing.com/<your-org>/workbook/<Name>-<id>"
)
_EMBED_ID = re.compile(r"[A-Za-z0-9-]{6,80}")
_ORG = re.compile(r"[A-Za-z0-9_-]{1,64}")
_WORKBOOK_NAME = re.compile(r"[A-Za-z0-9-]{1,200}")
_WORKBOOK_ID = re.compile(r"[A-Za-z0-9]{8,64}")
_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_PAGE_OR_ELEMENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PARAM_VALUE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_HOST = re.compile(r"[a-z0-9.-]+")
# WHATWG URL parsing reads a host whose last label is a number (decimal, 0x-hex or 0-octal) as IPv4,
# so "2130706433", "0x7f000001" and "127.1" all mean 127.0.0.1 to a browser.
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")
_EMAIL = re.compile(r"[^\s_@]+@[^\s_@]+")


class EmbedKind(enum.StrEnum):
    PUBLIC = "public"
    WORKBOOK = "workbook"
    PAGE = "page"
    ELEMENT = "element"


class InvalidSigmaUrl(ValueError):
    """A pasted URL we refuse; str(error) is a message for the author."""

    def __init__(self, reason: str):
        super().__init__(f"{reason}. {_EXAMPLES}.")


class SigningError(ValueError):
    """Refused inputs to `sign` (a programming or configuration error, not the author's)."""


@dataclass(frozen=True)
class SigmaUrl:
    url: str  # the normalised URL we store and link to ("open in Sigma")
    kind: EmbedKind
    host: str
    embed_id: str = ""  # public embeds
    org: str = ""  # workbook/page/element
    workbook_name: str = ""  # empty in the API form /workbook/<workbookId>/...
    workbook_id: str = ""
    version_tag: str = ""
    page_id: str = ""
    element_id: str = ""
    params: tuple[tuple[str, str], ...] = ()  # kept display parameters, sorted

    @property
    def is_public(self) -> bool:
        """Only a public embed may be framed as it is; the other kinds need `sign`."""
        return self.kind is EmbedKind.PUBLIC


def parse(raw: str, allowed_hosts: Iterable[str] = DEFAULT_HOSTS) -> SigmaUrl:
    """Validate and normalise a pasted Sigma URL. Credentials (`:jwt`, `:signature`...) are dropped."""
    if isinstance(allowed_hosts, str):  # one host name, not an iterable of its letters
        allowed_hosts = (allowed_hosts,)
    allowed = {h.lower() for h in allowed_hosts}
    text = (raw or "").strip()
    if not text:
        raise InvalidSigmaUrl("The URL is empty")
    if len(text) > MAX_URL_LENGTH:
        raise InvalidSigmaUrl(f"The URL is longer than {MAX_URL_LENGTH} characters")
    # Cf catches invisible characters (zero-width spaces, bidi overrides) that make a URL lie.
    if any(c.isspace() or c == "\\" or unicodedata.category(c) in ("Cc", "Cf") for c in text):
        raise InvalidSigmaUrl("The URL contains spaces, backslashes or invisible characters")
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() != "https":
        raise InvalidSigmaUrl("The URL must start with https://")

    # We split by hand rather than trust urlsplit: the authority ends at the first of / ? #.
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    rest = rest[len(authority) :].split("#", 1)[0]  # the fragment is dropped
    path, _, query = rest.partition("?")
    host = _check_host(authority, allowed)

    if ".." in path:
        raise InvalidSigmaUrl('The URL path may not contain ".."')
    if re.search(r"%(2f|2e|5c)", path, re.IGNORECASE):
        raise InvalidSigmaUrl("The URL path may not contain percent-encoded slashes or dots")
    segments = path.removesuffix("/").split("/")[1:]  # path is "" or starts with "/"
    fields = _match_shape(segments)
    if fields is None:
        raise InvalidSigmaUrl("This is not the address of a Sigma workbook, page, element or embed")

    params = _display_params(query)
    url = f"https://{host}/{'/'.join(segments)}" + _query(params)
    return SigmaUrl(url=url, host=host, params=params, **fields)


def with_params(url: SigmaUrl, **params: str) -> str:
    """`url` with extra display parameters merged in (they win over the stored ones)."""
    return _base(url) + _query(_merge(url.params, params, ValueError))


def sign(
    url: SigmaUrl,
    *,
    viewer_email: str,
    client_id: str,
    secret: str,
    lifetime: datetime.timedelta,
    now: datetime.datetime | None = None,
    jti: str | None = None,
    extra_params: dict[str, str] | None = None,
) -> tuple[str, datetime.datetime]:
    """A secure embed URL for one viewer and one page view, and when it expires."""
    if url.is_public:
        raise SigningError("A public embed is not signed; frame its URL as it is")
    if not client_id or not secret:
        raise SigningError("The Sigma embed client id and secret are required")
    if not isinstance(viewer_email, str) or not _EMAIL.fullmatch(viewer_email):
        raise SigningError("Sigma needs the viewer's email, with an @ and no spaces or underscores")
    seconds = int(lifetime.total_seconds())  # JWT times are whole seconds
    if seconds <= 0 or lifetime > MAX_SIGNED_LIFETIME:
        raise SigningError(
            f"The lifetime must be positive and at most {MAX_SIGNED_LIFETIME.days} days"
        )
    now = now or datetime.datetime.now(datetime.UTC)
    if now.tzinfo is None:
        raise SigningError("`now` must be timezone-aware")
    if jti is not None and not jti:
        raise SigningError("The jti may not be empty")
    iat = int(now.timestamp())
    payload = {
        "sub": viewer_email,
        "jti": jti or uuid.uuid4().hex,
        "iat": iat,
        "exp": iat + seconds,
        "iss": client_id,
    }
    token = jwt.encode(payload, secret, algorithm="HS256", headers={"kid": client_id})
    params = _merge(url.params, extra_params or {}, SigningError)
    # Sigma expects the colon-prefixed names as they are, not percent-encoded; the token is URL-safe.
    signed = "&".join([*(f"{k}={v}" for k, v in params), f":jwt={token}", ":embed=true"])
    return f"{_base(url)}?{signed}", datetime.datetime.fromtimestamp(iat + seconds, datetime.UTC)


def _check_host(authority: str, allowed: set[str]) -> str:
    if "@" in authority:
        raise InvalidSigmaUrl("The URL may not contain a user name or password")
    if not authority.isascii():
        raise InvalidSigmaUrl("The host name must be plain ASCII (look-alike letters are refused)")
    if authority.startswith("["):
        raise InvalidSigmaUrl("The URL must use a host name, not an IP address")
    host, colon, port = authority.lower().partition(":")
    if colon and port != "443":
        raise InvalidSigmaUrl("The URL may not name a port other than 443")
    if host.endswith(
        "."
    ):  # "app.sigmacomputing.com." is the same host to DNS, not to an allow-list
        raise InvalidSigmaUrl("The host name may not end with a dot")
    if not host or not _HOST.fullmatch(host):
        raise InvalidSigmaUrl("The URL has no valid host name")
    if any(label.startswith("xn--") for label in host.split(".")):
        raise InvalidSigmaUrl("The host name may not be an internationalised (xn--) name")
    if _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]) or _is_ip(host):
        raise InvalidSigmaUrl("The URL must use a host name, not an IP address")
    if host not in allowed:
        raise InvalidSigmaUrl(f"The URL must be on {' or '.join(sorted(allowed))}")
    return host


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _match_shape(segments: list[str]) -> dict | None:
    """The SigmaUrl fields for a path's segments, or None if the path is no Sigma shape."""
    if len(segments) == 2 and segments[0] == "embed" and _EMBED_ID.fullmatch(segments[1]):
        return {"kind": EmbedKind.PUBLIC, "embed_id": segments[1]}
    if len(segments) < 3 or segments[1] != "workbook" or not _ORG.fullmatch(segments[0]):
        return None
    org, rest = segments[0], segments[2:]
    # The workbook is "<Name>-<id>" (the id after the last hyphen), "<id>" or "<Name>/<id>" (API forms).
    # Try each reading; the rest of the path decides: in /workbook/Quarterly/<id>, "Quarterly" could be
    # an id by its looks, but then "<id>" cannot follow it.
    readings = []
    name, hyphen, wb_id = rest[0].rpartition("-")
    if not hyphen or _WORKBOOK_NAME.fullmatch(name):
        readings.append((name, wb_id, rest[1:]))
    if len(rest) >= 2 and _WORKBOOK_NAME.fullmatch(rest[0]):
        readings.append((rest[0], rest[1], rest[2:]))
    for name, wb_id, tail in readings:
        if not _WORKBOOK_ID.fullmatch(wb_id):
            continue
        fields = {
            "org": org,
            "workbook_name": name,
            "workbook_id": wb_id,
            "kind": EmbedKind.WORKBOOK,
        }
        if len(tail) >= 2 and tail[0] == "tag" and _TAG.fullmatch(tail[1]):
            fields["version_tag"], tail = tail[1], tail[2:]
        match tail:
            case []:
                return fields
            case ["page" | "element" as what, item_id] if _PAGE_OR_ELEMENT_ID.fullmatch(item_id):
                return {**fields, "kind": EmbedKind(what), f"{what}_id": item_id}
    return None


def _display_params(query: str) -> tuple[tuple[str, str], ...]:
    """Keep valid display parameters only: anything else (`:jwt`, `:nonce`, tracking...) is dropped."""
    kept = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in DISPLAY_PARAMETERS and _PARAM_VALUE.fullmatch(value):
            kept[key] = value  # the last one wins, as in most web frameworks
    return tuple(sorted(kept.items()))


def _merge(
    params: tuple[tuple[str, str], ...], extra: dict[str, str], error: type[ValueError]
) -> tuple[tuple[str, str], ...]:
    for key, value in extra.items():
        if key not in DISPLAY_PARAMETERS:
            raise error(f"{key!r} is not a Sigma display parameter")
        if not isinstance(value, str) or not _PARAM_VALUE.fullmatch(value):
            raise error(f"{key}={value!r}: a value is 1 to 32 letters, digits, '-' or '_'")
    return tuple(sorted({**dict(params), **extra}.items()))


def _query(params: tuple[tuple[str, str], ...]) -> str:
    # Keys and values are restricted to [A-Za-z0-9_-], so nothing needs percent-encoding.
    return "?" + "&".join(f"{k}={v}" for k, v in params) if params else ""


def _base(url: SigmaUrl) -> str:
    return url.url.split("?", 1)[0]
