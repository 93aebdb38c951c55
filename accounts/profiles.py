"""A member's public profile beyond their name and bio: links to their other homes on the web,
and the workbooks they pin to the top of their profile.

Links are a JSON list of `{"kind": ..., "url": ...}` on the member's row, one per kind, each an
https address on the kind's own site (a "GitHub" link goes to GitHub), so a reader can trust the
label beside it. The member's own website stays its own field (`User.website`). Both are plain
addresses (`plain_address`): nothing in them that a browser could read as another site than the
one checked here.

Pins are a JSON list of workbook ids on the member's row. Workbooks sit above accounts, so accounts
cannot read them: the workbooks app registers, when it is ready, how to tell which of a member's
workbook ids are their published ones (`register`). Pins are checked against it when written, and
filtered through it again when read, so a pin whose workbook was unpublished or deleted since is
simply not shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from unicodedata import category
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import URLValidator

MAX_PINS = 3
LINK_URL_MAX_LENGTH = 200


@dataclass(frozen=True)
class LinkKind:
    value: str
    label: str
    # The hosts its addresses may be on (a subdomain of one too); empty: any host.
    hosts: tuple[str, ...]


LINK_KINDS = (
    LinkKind("github", "GitHub", ("github.com",)),
    LinkKind("linkedin", "LinkedIn", ("linkedin.com",)),
    LinkKind("x", "X", ("x.com", "twitter.com")),
    LinkKind("bluesky", "Bluesky", ("bsky.app",)),
    LinkKind("sigma", "Sigma community", ("community.sigmacomputing.com",)),
)
KINDS = {kind.value: kind for kind in LINK_KINDS}
# The API's choices (named LinkKindEnum in the schema: settings.SPECTACULAR_SETTINGS).
LINK_KIND_CHOICES = [(kind.value, kind.label) for kind in LINK_KINDS]
MAX_LINKS = len(LINK_KINDS)

_https = URLValidator(schemes=["https"], message="Use an address starting with https://.")
_NOT_PLAIN = "Write the address plainly, as https://site/path."


def _refuse_unsafe_characters(url: str) -> None:
    if "\\" in url or any(char.isspace() or category(char).startswith("C") for char in url):
        raise ValidationError(
            "An address cannot hold spaces, backslashes or control characters.", code="unsafe"
        )


def plain_address(url: str) -> str:
    """The address rebuilt from its parts (scheme and site in lower case), when that is what was
    sent; ValidationError otherwise. Python and browsers read some addresses differently: in
    `https://evil.example\\@github.com/` Python finds the site github.com, a browser evil.example
    (it reads a backslash as a slash). So anything read differently is refused: backslashes,
    spaces and control or invisible characters, a name or password before the site (`user@site`,
    which also makes a shown address look like another site's), a port, and whatever the parsing
    would drop or change. Call it on an address already checked to be a URL."""
    _refuse_unsafe_characters(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError(_NOT_PLAIN, code="not_plain") from None
    if "@" in parts.netloc:
        raise ValidationError(
            "An address cannot hold a name or password before its site.", code="userinfo"
        )
    if port is not None or parts.netloc.endswith(":"):
        raise ValidationError("An address cannot name a port.", code="port")
    host = parts.hostname or ""
    site = f"[{host}]" if ":" in host else host
    rebuilt = urlunsplit((parts.scheme.lower(), site, parts.path, parts.query, parts.fragment))
    head = f"{parts.scheme}://{parts.netloc}"
    if url[: len(head)].lower() != head.lower() or rebuilt != head.lower() + url[len(head) :]:
        raise ValidationError(_NOT_PLAIN, code="not_plain")
    return rebuilt


def clean_website(url: str) -> str:
    """A member's website as stored: "" (none) or a plain http(s) address (the model's field
    checks that it is one)."""
    return plain_address(url) if url else ""


def _on_host(url: str, hosts: tuple[str, ...]) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return not hosts or any(host == name or host.endswith(f".{name}") for name in hosts)


def clean_links(value: Any) -> list[dict[str, str]]:
    """The links as stored: a list of `{"kind", "url"}`, in the order of LINK_KINDS, at most one
    per kind. ValidationError naming what is wrong otherwise."""
    if not isinstance(value, list):
        raise ValidationError("Links are a list of {kind, url}.", code="invalid")
    if len(value) > MAX_LINKS:
        raise ValidationError(f"At most {MAX_LINKS} links.", code="too_many")
    by_kind: dict[str, str] = {}
    for link in value:
        if not isinstance(link, dict) or set(link) != {"kind", "url"}:
            raise ValidationError("Each link is {kind, url}.", code="invalid")
        kind, url = link["kind"], link["url"]
        if not isinstance(kind, str) or kind not in KINDS:
            choices = ", ".join(KINDS)
            raise ValidationError(f"A link's kind is one of {choices}.", code="invalid_kind")
        if kind in by_kind:
            raise ValidationError(f"Only one {KINDS[kind].label} link.", code="duplicate")
        by_kind[kind] = clean_link_url(kind, url)
    return [{"kind": kind, "url": by_kind[kind]} for kind in KINDS if kind in by_kind]


def clean_link_url(kind: str, url: Any) -> str:
    """One link's address as stored: plain (plain_address), https, at most LINK_URL_MAX_LENGTH
    characters, on the kind's site."""
    if not isinstance(url, str) or not url:
        raise ValidationError("A link needs an address.", code="invalid")
    if len(url) > LINK_URL_MAX_LENGTH:
        raise ValidationError(
            f"A link's address is at most {LINK_URL_MAX_LENGTH} characters.", code="max_length"
        )
    _refuse_unsafe_characters(url)  # Before the URL check, to say what is wrong.
    _https(url)
    url = plain_address(url)
    link_kind = KINDS[kind]
    if not _on_host(url, link_kind.hosts):
        raise ValidationError(
            f"A {link_kind.label} link is an address on {link_kind.hosts[0]}.", code="wrong_site"
        )
    return url


def _still_valid(kind: str, url: Any) -> bool:
    try:
        clean_link_url(kind, url)
    except ValidationError:
        return False
    return True


def shown_links(links: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    """The stored links with their labels, for a page; anything not understood, or that the
    checks of today would refuse, is left out."""
    return [
        {"kind": link["kind"], "url": link["url"], "label": KINDS[link["kind"]].label}
        for link in links
        if isinstance(link, dict)
        and link.get("kind") in KINDS
        and _still_valid(link["kind"], link.get("url"))
    ]


# --- Pins: filled in by the workbooks app -------------------------------------------------------

# (member id, workbook ids) -> which of them are that member's published workbooks.
PublishedAmong = Callable[[int, list[int]], set[int]]
# (member id, their pins) -> (id, title) of their published workbooks a form offers to pin,
# newest first: the latest ones, and the pinned ones however old they are.
Pinnable = Callable[[int, list[int]], list[tuple[int, str]]]

_UNREGISTERED = "pins are read once the workbooks app is ready (it registers them)"
_published_among: PublishedAmong | None = None
_pinnable: Pinnable | None = None


def register(published_among: PublishedAmong, pinnable: Pinnable) -> None:
    global _published_among, _pinnable
    _published_among, _pinnable = published_among, pinnable


def _registered() -> tuple[PublishedAmong, Pinnable]:
    if _published_among is None or _pinnable is None:
        raise ImproperlyConfigured(_UNREGISTERED)
    return _published_among, _pinnable


def clean_pins(member_id: int, value: Any) -> list[int]:
    """The pins as stored: up to MAX_PINS distinct ids of the member's own published workbooks, in
    the order given. ValidationError otherwise (a draft or someone else's workbook is refused the
    same way as one that does not exist, so nothing is learnt of others' drafts)."""
    if not isinstance(value, list) or not all(
        isinstance(pk, int) and not isinstance(pk, bool) for pk in value
    ):
        raise ValidationError("Pinned workbooks are a list of workbook ids.", code="invalid")
    if len(value) > MAX_PINS:
        raise ValidationError(f"Pin at most {MAX_PINS} workbooks.", code="too_many")
    if len(set(value)) != len(value):
        raise ValidationError("A workbook is pinned once.", code="duplicate")
    published_among, _ = _registered()
    if set(value) - published_among(member_id, list(value)):
        raise ValidationError("You can pin only your own published workbooks.", code="not_pinnable")
    return list(value)


def shown_pins(member_id: int, pins: list[int]) -> list[int]:
    """The stored pins that are still the member's published workbooks, in their order."""
    if not pins:
        return []
    published_among, _ = _registered()
    published = published_among(member_id, pins)
    return [pk for pk in pins if pk in published]


def pinnable(member_id: int, pins: list[int]) -> list[tuple[int, str]]:
    """What a form offers to pin: the member's latest published workbooks and those pinned now
    (a pin missing from the choices would be dropped by saving the form unchanged)."""
    _, choices = _registered()
    return choices(member_id, pins)
