"""Every page of the site, each reached by a real address on content made the way the site makes it:
the catalogue the browser tests run axe-core on and take screenshots of (tests/browser/
test_every_page.py), and that tests/test_page_catalogue.py checks covers every page template.

A page is visited by the people who can see it: a visitor (signed out) and, signed in, `member` (a
member with workbooks, comments, collections, notifications, someone blocked), `staff` (a superuser
with two-factor on, for the admin), `newcomer` (a member halfway through setting up two-factor).
A page shown after a form is sent (a confirmation, a refusal) is reached by sending that form:
`data` is its body. Adding a page: add a `Visit` to `visits()` below; the guard test names the
template that still has none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pyotp
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import path
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import verification
from accounts.services import SECOND_FACTOR_SESSION_KEY
from moderation import services as moderation
from social import emails
from social import services as social
from social.models import Collection
from tests.factories import (
    PASSWORD,
    PRIVATE_WORKBOOK,
    CollectionFactory,
    FeaturedFactory,
    TagFactory,
    UserFactory,
    WorkbookFactory,
)
from tests.standins.identity import StandIn, turn_on_github, turn_on_oidc
from workbooks.models import Workbook

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
VISITOR, MEMBER, STAFF, NEWCOMER = "visitor", "member", "staff", "newcomer"
SIGNED_IN = (MEMBER, STAFF, NEWCOMER)
# The csrftoken cookie every browser in the catalogue carries, and the token its forms send: Django
# takes the cookie's secret itself as the form's token.
CSRF_SECRET = "catalogue" + "0" * 23


@dataclass(frozen=True)
class Visit:
    name: str  # the screenshots' file name, e.g. pages/<name>--visitor--390--dark.png
    path: str
    template: str  # the page template it shows (tests/test_page_catalogue.py checks it does)
    who: tuple[str, ...]
    status: int = 200
    # A form's body: the page is the answer to sending it (POST). A callable is called when sent
    # (a two-factor code must be fresh).
    data: dict[str, str] | Callable[[], dict[str, str]] | None = None
    # The body is a file upload's (multipart/form-data), each value sent as a file of that content.
    multipart: bool = False
    # A page drawn by its script after it loads: what shows once it is drawn (a CSS selector).
    ready: str | None = None
    # A control clicked once the page is ready, so that what it opens is checked too (a CSS selector).
    open: str | None = None

    def body(self) -> dict[str, str] | None:
        data = self.data() if callable(self.data) else self.data
        return None if data is None else {"csrfmiddlewaretoken": CSRF_SECRET, **data}


@dataclass
class Site:
    visits: list[Visit]
    people: dict[str, object]  # who -> User, for the signed-in ones
    providers: list[StandIn] = field(default_factory=list)


def page_templates() -> set[str]:
    """Every template that is a whole page: those extending base.html (or the admin's base) and the
    standalone ones, leaving out fragments (inc/) and emails."""
    found = set()
    for file in TEMPLATES.rglob("*.html"):
        name = file.relative_to(TEMPLATES).as_posix()
        if "/inc/" in name or name.startswith("inc/") or "/email/" in name or name == "base.html":
            continue
        if name.startswith("email/"):
            continue
        found.add(name)
    return found


# --- Test-only addresses: the site's own error handlers, reached on purpose -------------------------


def _raise(kind: str):
    from django.core.exceptions import SuspiciousOperation

    def view(request):
        if kind == "bad-request":
            raise SuspiciousOperation("A malformed request, on purpose.")
        if kind == "email-unverified":
            raise verification.EmailUnverified
        raise RuntimeError("A server error, on purpose.")

    return view


def urlpatterns() -> list:
    """The site's URLs plus three that raise what no page lets through on purpose: a malformed
    request (400), an unverified address (its 403 page) and a crash (500). The project's own
    handlers answer them (ROOT_URLCONF = "tests.page_catalogue_urls")."""
    from sigma_playground import urls as site

    return [
        path("_catalogue/raise/bad-request/", _raise("bad-request")),
        path("_catalogue/raise/email-unverified/", _raise("email-unverified")),
        path("_catalogue/raise/server-error/", _raise("server-error")),
        *site.urlpatterns,
    ]


@contextmanager
def configured(settings) -> Iterator[list[StandIn]]:
    """The settings the catalogue's pages need, on top of the test settings: two sign-in providers
    (stand-ins on 127.0.0.1 that approve at once), uploads over 64 KiB refused (the 413 page) and
    smaller ones spooled to a folder that is not there (the storage-unavailable page), the Sigma
    stand-in, the URLs above."""
    settings.ROOT_URLCONF = "tests.page_catalogue_urls"
    settings.SIGMA_EMBED_STANDIN = True
    settings.EMAIL_VERIFICATION = "mandatory"
    settings.MFA_REQUIRED_FOR_STAFF = True
    settings.MEDIA_MAX_UPLOAD_MB = 0
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    # A folder of the test's own temporary one, never made.
    settings.FILE_UPLOAD_TEMP_DIR = str(Path(settings.MEDIA_UPLOAD_ROOT) / "never-made")
    oidc, github = StandIn("oidc").start(), StandIn("github").start()
    turn_on_oidc(settings, oidc, label="Acme SSO")
    turn_on_github(settings, github)
    try:
        yield [oidc, github]
    finally:
        oidc.stop()
        github.stop()


def session_cookie(user, *, second_factor: bool = False) -> str:
    """A session for `user`, as signing in would leave it; with `second_factor`, one that passed
    the two-factor step (staff need it for the admin)."""
    client = Client()
    client.force_login(user)
    if second_factor:
        session = client.session
        session[SECOND_FACTOR_SESSION_KEY] = True
        session.save()
    return client.cookies["sessionid"].value


def build(settings, providers: list[StandIn]) -> Site:
    """The content the pages show, and the catalogue of visits to them. Once the content is made,
    favorites are limited to none a minute: the 429 page."""
    now = timezone.now()
    member = UserFactory(username="ada", full_name="Ada Lovelace", bio="Charts about engines.")
    grace = UserFactory(username="grace", full_name="Grace Hopper")
    blocked = UserFactory(username="mallory", full_name="Mallory Mischief")
    staff = UserFactory(
        username="chief", full_name="Charles Babbage", is_staff=True, is_superuser=True
    )
    staff.mfa_secret, staff.mfa_enabled = pyotp.random_base32(), True
    staff.save(update_fields=["mfa_secret", "mfa_enabled"])
    grace.mfa_secret, grace.mfa_enabled = pyotp.random_base32(), True
    grace.save(update_fields=["mfa_secret", "mfa_enabled"])
    newcomer = UserFactory(
        username="newcomer", full_name="Katherine Johnson-Goble", email_verified=False
    )
    newcomer.mfa_secret = pyotp.random_base32()  # setup started: the page shows the QR code
    newcomer.save(update_fields=["mfa_secret"])
    unverified = UserFactory(username="unverified", full_name="Una Verity", email_verified=False)

    for name in ("finance", "climate", "sports"):
        TagFactory(name=name)
    workbook = WorkbookFactory(
        author=member,
        title="Revenue by region",
        description="Quarterly revenue, **by region** and product line.",
        tags=["finance", "climate"],
    )
    others = [
        WorkbookFactory(author=grace, title=f"Rainfall in city {n}", tags=["climate"])
        for n in range(3)
    ]
    draft = WorkbookFactory(
        author=member, title="Unfinished forecast", status=Workbook.Status.DRAFT
    )
    secure = WorkbookFactory(author=grace, title="Sales plan", embed_url=PRIVATE_WORKBOOK)
    FeaturedFactory(workbook=others[0], note="Picked for the spring challenge")
    FeaturedFactory(
        workbook=others[1], starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=7)
    )
    social.add_comment(grace, workbook, "Lovely chart; which year is this?")
    comment = social.add_comment(member, workbook, "2024, the whole year.")
    social.follow(grace, member)
    social.follow(member, grace)
    social.favorite(grace, workbook)
    social.block(member, blocked)
    collection = CollectionFactory(
        owner=member, title="Weather and money", workbooks=[workbook, others[0]]
    )
    CollectionFactory(
        owner=member,
        title="Private picks",
        visibility=Collection.Visibility.PRIVATE,
        workbooks=[others[1]],
    )
    moderation.report(member, "workbook", others[2].pk, "spam", "Looks like an advert.")
    settings.SOCIAL_RATE_LIMITS = {**settings.SOCIAL_RATE_LIMITS, "favorite": 0}
    providers[0].approve_as = providers[0].add("newbie", "newbie@example.com").username
    providers[1].approve_as = providers[1].add("ada-gh", member.email).username
    slug, other = workbook.slug, others[0].slug
    reset = (
        f"/accounts/reset/{urlsafe_base64_encode(force_bytes(grace.pk))}/"
        f"{default_token_generator.make_token(grace)}/"
    )

    def fresh_code() -> dict[str, str]:
        return {"action": "confirm", "code": pyotp.TOTP(newcomer.mfa_secret).now()}

    everyone = (VISITOR, MEMBER)
    visits = [
        # The gallery
        Visit("home", "/", "workbooks/home.html", everyone),
        # A page as staff see it: the account menu, opened, has the Admin link.
        Visit(
            "explore-staff-menu",
            "/explore/",
            "workbooks/explore.html",
            (STAFF,),
            open="[data-testid=user-menu]",
        ),
        Visit("explore", "/explore/?q=rain", "workbooks/explore.html", everyone),
        Visit("explore-empty", "/explore/?q=zzzqqq", "workbooks/explore.html", (VISITOR,)),
        Visit("workbook", f"/w/{slug}/", "workbooks/detail.html", everyone),
        Visit("workbook-of-another", f"/w/{other}/", "workbooks/detail.html", (MEMBER,)),
        Visit("tag", "/tags/climate/", "workbooks/tag.html", everyone),
        Visit("author", "/u/ada/", "workbooks/author.html", everyone),
        Visit("followers", "/u/ada/followers/", "social/people.html", everyone),
        Visit("favorites", "/u/grace/favorites/", "social/favorites.html", everyone),
        Visit("collections", "/u/ada/collections/", "social/collections/list.html", everyone),
        Visit(
            "collection",
            f"/u/ada/c/{collection.slug}/",
            "social/collections/detail.html",
            everyone,
        ),
        Visit(
            "collections-featured", "/collections/", "social/collections/featured.html", everyone
        ),
        Visit(
            "workbook-collections",
            f"/w/{slug}/collections/",
            "social/collections/of_workbook.html",
            everyone,
        ),
        Visit("standin", "/_standin/sigma/Embed000001/", "workbooks/standin.html", (VISITOR,)),
        Visit(
            "api-docs",
            "/api/v1/docs/",
            "api/docs.html",
            (VISITOR,),
            ready=".swagger-ui .opblock-tag",
        ),
        # Signing in and up
        Visit("sign-in", "/accounts/login/", "accounts/login.html", (VISITOR,)),
        Visit("sign-up", "/accounts/signup/", "accounts/signup.html", (VISITOR,)),
        Visit(
            "password-reset",
            "/accounts/password-reset/",
            "accounts/password_reset.html",
            (VISITOR,),
        ),
        Visit(
            "password-reset-sent",
            "/accounts/password-reset/sent/",
            "accounts/password_reset_done.html",
            (VISITOR,),
        ),
        Visit("password-reset-new", reset, "accounts/password_reset_confirm.html", (VISITOR,)),
        Visit(
            "password-reset-complete",
            "/accounts/reset/done/",
            "accounts/password_reset_complete.html",
            (VISITOR,),
        ),
        Visit(
            "verify-done",
            verification.link_path(unverified),
            "accounts/verify_done.html",
            (VISITOR,),
        ),
        Visit(
            "verify-failed",
            "/accounts/verify/MQ/expired-token/",
            "accounts/verify_failed.html",
            (VISITOR,),
            status=400,
        ),
        Visit(
            "unsubscribe",
            f"/email/unsubscribe/{emails.unsubscribe_token(member.pk, 'digest')}/",
            "social/unsubscribe.html",
            (VISITOR,),
        ),
        # A member's own pages
        Visit("publish", "/w/new/", "workbooks/publish.html", (MEMBER,)),
        Visit("edit", f"/w/{slug}/edit/", "workbooks/edit.html", (MEMBER,)),
        Visit("delete", f"/w/{slug}/delete/", "workbooks/delete.html", (MEMBER,)),
        Visit("drafts", "/u/ada/drafts/", "workbooks/drafts.html", (MEMBER,)),
        Visit("draft", f"/w/{draft.slug}/", "workbooks/detail.html", (MEMBER,)),
        Visit("insights", "/insights/", "insights/page.html", (MEMBER,)),
        Visit("workbook-insights", f"/w/{slug}/insights/", "insights/page.html", (MEMBER,)),
        Visit("feed", "/feed/", "social/feed.html", (MEMBER,)),
        Visit("notifications", "/notifications/", "social/notifications.html", (MEMBER,)),
        Visit("settings", "/settings/", "accounts/settings.html", (MEMBER,)),
        Visit("password-change", "/settings/password/", "accounts/password_change.html", (MEMBER,)),
        Visit("two-factor", "/settings/two-factor/", "accounts/mfa.html", (MEMBER,)),
        Visit("two-factor-setup", "/settings/two-factor/", "accounts/mfa.html", (NEWCOMER,)),
        Visit("delete-account", "/settings/delete/", "accounts/delete.html", (MEMBER,)),
        Visit("blocked", "/blocked/", "social/blocked.html", (MEMBER,)),
        Visit("block", "/u/grace/block/", "social/block_confirm.html", (MEMBER,)),
        Visit("favorite", f"/w/{other}/favorite/", "social/favorite_confirm.html", (MEMBER,)),
        Visit("collect", f"/w/{other}/collect/", "social/collections/collect.html", (MEMBER,)),
        Visit("collection-new", "/collections/new/", "social/collections/form.html", (MEMBER,)),
        Visit(
            "comment-edit",
            f"/comments/{comment.pk}/edit/",
            "social/comment_form.html",
            (MEMBER,),
        ),
        Visit(
            "comment-delete",
            f"/comments/{comment.pk}/delete/",
            "social/comment_delete.html",
            (MEMBER,),
            data={"step": "ask"},
        ),
        Visit("report", f"/report/workbook/{others[0].pk}/", "moderation/report.html", (MEMBER,)),
        Visit(
            "link-provider",
            "/accounts/provider/github/link/",
            "accounts/provider_link_start.html",
            (MEMBER,),
        ),
        # Refusals and errors
        Visit("not-found", "/no-such-page/", "errors/page.html", everyone, status=404),
        Visit(
            "bad-request",
            "/_catalogue/raise/bad-request/",
            "errors/page.html",
            (VISITOR,),
            status=400,
        ),
        Visit(
            "server-error",
            "/_catalogue/raise/server-error/",
            "errors/page.html",
            (VISITOR,),
            status=500,
        ),
        # A form sent without its CSRF token: the 403 page.
        Visit(
            "forbidden",
            "/accounts/login/",
            "errors/page.html",
            (VISITOR,),
            status=403,
            data={"csrfmiddlewaretoken": ""},
        ),
        Visit(
            "email-unverified",
            "/_catalogue/raise/email-unverified/",
            "accounts/email_unverified.html",
            (NEWCOMER,),
            status=403,
        ),
        Visit(
            "bad-page", "/explore/?page=nonsense", "paging/bad_page.html", (VISITOR,), status=400
        ),
        Visit(
            "problem",
            f"/report/workbook/{workbook.pk}/",
            "problem.html",
            (MEMBER,),
            status=400,
        ),
        Visit(
            "slow-down",
            f"/w/{other}/favorite/",
            "problem.html",
            (MEMBER,),
            status=429,
            data={"favorite": "1"},
        ),
        Visit(
            "upload-too-large",
            "/settings/avatar/",
            "media/too_large.html",
            (MEMBER,),
            status=413,
            data={"image": "x" * 70_000},
            multipart=True,
        ),
        Visit(
            "storage-unavailable",
            "/settings/avatar/",
            "media/storage_unavailable.html",
            (MEMBER,),
            status=503,
            data={"image": "x"},
            multipart=True,
        ),
        # The admin (Django's pages with ours inside)
        Visit("admin", "/admin/", "admin/index.html", (STAFF,)),
        Visit(
            "admin-featured",
            "/admin/workbooks/featured/",
            "admin/featuring_change_list.html",
            (STAFF,),
        ),
        # A workbook's form: its `listed` box and, featured, the Featured inline with its entry.
        Visit(
            "admin-workbook",
            f"/admin/workbooks/workbook/{others[0].pk}/change/",
            "admin/change_form.html",
            (STAFF,),
        ),
        Visit(
            "admin-featured-add",
            "/admin/workbooks/featured/add/",
            "admin/change_form.html",
            (STAFF,),
        ),
        Visit(
            "admin-reports",
            "/admin/moderation/report/",
            "admin/moderation/queue.html",
            (STAFF,),
        ),
        Visit(
            "admin-report",
            f"/admin/moderation/report/target/workbook/{others[2].pk}/",
            "admin/moderation/target.html",
            (STAFF,),
        ),
        Visit(
            "admin-approve-embed",
            "/admin/workbooks/workbook/",
            "admin/workbooks/workbook/approve_secure_embed.html",
            (STAFF,),
            data={"action": "approve_secure_embed", "_selected_action": str(secure.pk)},
        ),
        # Last: these leave the visitor's browser halfway through a sign-in, the newcomer's with
        # two-factor on.
        Visit(
            "sign-in-code",
            "/accounts/login/",
            "accounts/login_verify.html",
            (VISITOR,),
            data={"username": "grace", "password": PASSWORD},
        ),
        Visit(
            "provider-username",
            "/accounts/provider/oidc/start/",
            "accounts/provider_username.html",
            (VISITOR,),
            data={},
        ),
        Visit(
            "provider-link",
            "/accounts/provider/github/start/",
            "accounts/provider_link.html",
            (VISITOR,),
            data={},
        ),
        Visit(
            "recovery-codes",
            "/settings/two-factor/",
            "accounts/mfa_recovery_codes.html",
            (NEWCOMER,),
            data=fresh_code,
        ),
    ]
    people = {MEMBER: member, STAFF: staff, NEWCOMER: newcomer}
    return Site(visits=visits, people=people, providers=providers)
