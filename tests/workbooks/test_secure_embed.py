"""Secure (signed) embeds only where the site can vouch: the JWT's `sub` is an identity the site
controls, and workbook, page and element URLs are signed only once staff with the dedicated
permission have approved that workbook's URL. Until then everyone gets a link to Sigma."""

from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission

from tests.factories import (
    PRIVATE_WORKBOOK,
    CuratorFactory,
    ModeratorFactory,
    UserFactory,
    WorkbookFactory,
)
from tests.sigma_playground.test_startup import PRODUCTION, manage
from tests.workbooks.markup import page
from tests.workbooks.test_admin import WORKBOOKS_URL, workbook_form
from workbooks import embed, services
from workbooks.models import Workbook

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

PAGE_URL = f"{PRIVATE_WORKBOOK}/page/Xk3pQ9aLm2"
PUBLIC_URL = "https://app.sigmacomputing.com/embed/1-Quarterly01"
WORKBOOKS_ADMIN = "/admin/workbooks/workbook/"


def claims_of(src: str) -> dict:
    token = dict(parse_qsl(urlsplit(src).query))[":jwt"]
    return jwt.decode(token, "s3cret", algorithms=["HS256"])


def frame_src(response) -> str | None:
    frames = page(response).find_all("iframe", class_="embed__frame")
    return frames[0].attrs["data-src"] if frames else None


def card_text(response) -> str:
    return page(response).find("section", class_="embed--card").text


def approve(workbook: Workbook, approver=None) -> Workbook:
    approver = approver or UserFactory(is_staff=True, is_superuser=True)
    services.approve_secure_embed({workbook.pk: workbook.embed_url}, approver)
    workbook.refresh_from_db()
    return workbook


@pytest.fixture
def private(author):
    return WorkbookFactory(author=author, title="Sales plan", embed_url=PRIVATE_WORKBOOK)


@pytest.fixture
def reader(db):
    # Registered with someone else's address: nothing checks it is theirs.
    return UserFactory(username="reader", email="ceo@bigcorp.example")


# --- Whom a signed embed is for --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_members_signed_embed_is_for_an_address_derived_from_their_id_not_their_email(
    client, secure_embedding, private, reader
):
    approve(private)
    client.force_login(reader)

    response = client.get(private.get_absolute_url())

    claims = claims_of(frame_src(response))
    assert claims["sub"] == f"member-{reader.pk}@embed.playground.example"
    assert "bigcorp" not in str(claims)


@pytest.mark.django_db
def test_changing_the_email_does_not_change_whom_the_embed_is_for(
    client, secure_embedding, private, reader
):
    approve(private)
    client.force_login(reader)
    before = claims_of(frame_src(client.get(private.get_absolute_url())))["sub"]
    reader.email = "cfo@bigcorp.example"
    reader.save()

    after = claims_of(frame_src(client.get(private.get_absolute_url())))["sub"]

    assert after == before


@pytest.mark.django_db
def test_visitors_who_are_not_signed_in_get_the_configured_guest_identity(
    client, secure_embedding, settings, private
):
    settings.SIGMA_EMBED_GUEST_EMAIL = "guest@playground.example"
    approve(private)

    response = client.get(private.get_absolute_url())

    assert claims_of(frame_src(response))["sub"] == "guest@playground.example"


# --- Approval ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("embed_url", [PRIVATE_WORKBOOK, PAGE_URL], ids=["workbook", "page"])
@pytest.mark.parametrize("who", ["reader", "author", "guest"])
@pytest.mark.django_db
def test_an_unapproved_workbook_is_a_link_to_sigma_for_everyone(
    client, secure_embedding, settings, author, reader, embed_url, who
):
    settings.SIGMA_EMBED_GUEST_EMAIL = "guest@playground.example"
    workbook = WorkbookFactory(author=author, embed_url=embed_url)
    if who != "guest":
        client.force_login({"reader": reader, "author": author}[who])

    response = client.get(workbook.get_absolute_url())

    assert response.status_code == 200
    assert frame_src(response) is None
    assert ":jwt" not in response.content.decode()
    assert "Awaiting approval" in card_text(response)
    assert page(response).find("section", class_="embed--card").find("a").attrs["href"] == (
        embed_url
    )


@pytest.mark.django_db
def test_an_approved_workbook_is_framed_through_a_signed_url(
    client, secure_embedding, private, reader
):
    approve(private)
    client.force_login(reader)

    response = client.get(private.get_absolute_url())

    assert frame_src(response).startswith(f"{PRIVATE_WORKBOOK}?")


@pytest.mark.django_db
def test_the_api_embed_source_follows_the_approval(secure_embedding, private, reader):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(reader)
    url = f"/api/v1/workbooks/{private.pk}/embed/"

    awaiting = api.get(url)
    approve(private)
    approved = api.get(url)

    assert awaiting.status_code == 200
    assert awaiting.json()["src"] is None
    assert awaiting.json()["expires_at"] is None
    assert awaiting.json()["reason"] == embed.AWAITING_APPROVAL
    assert (
        claims_of(approved.json()["src"])["sub"] == f"member-{reader.pk}@embed.playground.example"
    )


@pytest.mark.django_db
def test_a_public_embed_needs_no_approval(client, secure_embedding, author):
    workbook = WorkbookFactory(author=author, embed_url=PUBLIC_URL)

    response = client.get(workbook.get_absolute_url())

    assert frame_src(response).startswith(PUBLIC_URL)
    assert ":jwt" not in frame_src(response)


@pytest.mark.django_db
def test_approving_records_who_approved_which_url_and_when(private):
    approver = UserFactory(username="approver", is_staff=True, is_superuser=True)

    approve(private, approver)

    assert private.secure_embed_approved
    assert private.secure_embed_approved_by == approver
    assert private.secure_embed_approved_url == PRIVATE_WORKBOOK
    assert private.secure_embed_approved_at is not None


@pytest.mark.django_db
def test_approving_leaves_public_embeds_alone(author):
    workbook = WorkbookFactory(author=author, embed_url=PUBLIC_URL)

    approve(workbook)

    assert workbook.secure_embed_approved_at is None


@pytest.mark.django_db
def test_changing_the_url_withdraws_the_approval_even_when_changed_back(
    client, secure_embedding, private, reader
):
    approve(private)

    services.update_workbook(private, embed_url=PAGE_URL)
    private.refresh_from_db()
    assert not private.secure_embed_approved
    services.update_workbook(private, embed_url=PRIVATE_WORKBOOK)

    private.refresh_from_db()
    assert not private.secure_embed_approved
    client.force_login(reader)
    assert frame_src(client.get(private.get_absolute_url())) is None


@pytest.mark.django_db
def test_editing_the_url_on_the_edit_page_withdraws_the_approval(client, private, author):
    approve(private)
    client.force_login(author)

    response = client.post(
        f"/w/{private.slug}/edit/",
        {"title": "Sales plan", "embed_url": PAGE_URL, "description": "", "tags": "",
         "status": "published"},
    )  # fmt: skip

    assert response.status_code == 302
    private.refresh_from_db()
    assert private.embed_url == PAGE_URL
    assert not private.secure_embed_approved


@pytest.mark.django_db
def test_changing_the_url_in_the_admin_withdraws_the_approval_even_when_changed_back(
    admin_client, private
):
    # The admin copies the form's values onto the workbook first: the service still sees the change.
    approve(private)

    for url in (PAGE_URL, PRIVATE_WORKBOOK):
        response = admin_client.post(
            f"{WORKBOOKS_URL}{private.pk}/change/", workbook_form(private, embed_url=url)
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        private.refresh_from_db()
        assert private.embed_url == url

    assert not private.secure_embed_approved


@pytest.mark.django_db
def test_editing_anything_but_the_url_keeps_the_approval(private):
    approve(private)

    services.update_workbook(private, title="Sales plan, revised", description="New notes.")

    private.refresh_from_db()
    assert private.secure_embed_approved


@pytest.mark.django_db
def test_a_stale_copy_saved_after_a_withdrawal_does_not_bring_the_approval_back(private):
    approve(private)
    stale = Workbook.objects.get(pk=private.pk)
    services.withdraw_secure_embed(Workbook.objects.filter(pk=private.pk))

    stale.title = "Saved from an old copy"
    stale.save()

    private.refresh_from_db()
    assert private.secure_embed_approved_at is None
    assert not private.secure_embed_approved


# --- What the author is told -------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_author_sees_awaiting_approval_on_the_edit_page_then_approved(
    client, secure_embedding, private, author
):
    client.force_login(author)

    awaiting = page(client.get(f"/w/{private.slug}/edit/"))
    approve(private)
    approved = page(client.get(f"/w/{private.slug}/edit/"))

    assert "Awaiting approval" in awaiting.find("p", data_testid="secure-embed-note").text
    assert "Approved" in approved.find("p", data_testid="secure-embed-note").text


@pytest.mark.django_db
def test_the_edit_page_says_nothing_of_approval_without_secure_embedding(client, private, author):
    client.force_login(author)

    response = client.get(f"/w/{private.slug}/edit/")

    assert page(response).find_all("p", data_testid="secure-embed-note") == []


# --- The admin ---------------------------------------------------------------------------------------


def act(client, action: str, *workbooks, **extra):
    return client.post(
        WORKBOOKS_ADMIN,
        {"action": action, ACTION_CHECKBOX_NAME: [w.pk for w in workbooks], "index": 0, **extra},
        follow=True,
    )


def approve_in_admin(client, *workbooks):
    """The approval's two steps: the page showing each URL, then confirming exactly those URLs."""
    review = act(client, "approve_secure_embed", *workbooks)
    shown = {
        name: value
        for field in page(review).find_all("input", type="hidden")
        if (name := field.attrs.get("name", "")).startswith("url-")
        for value in [field.attrs["value"]]
    }
    return act(client, "approve_secure_embed", *workbooks, confirm="yes", **shown)


def offered_actions(client) -> set[str]:
    response = client.get(WORKBOOKS_ADMIN)
    assert response.status_code == 200
    return {name for name, _ in response.context["action_form"].fields["action"].choices}


@pytest.mark.django_db
def test_a_superuser_approves_and_withdraws_with_the_admin_actions(
    admin_client, superuser, private
):
    approve_in_admin(admin_client, private)
    private.refresh_from_db()
    assert private.secure_embed_approved
    assert private.secure_embed_approved_by == superuser
    change_page = admin_client.get(f"{WORKBOOKS_ADMIN}{private.pk}/change/")
    assert f"Approved by {superuser}" in change_page.content.decode()

    act(admin_client, "withdraw_secure_embed", private)

    private.refresh_from_db()
    assert not private.secure_embed_approved


@pytest.mark.django_db
def test_staff_given_the_approval_permission_may_approve(client, private):
    approver = UserFactory(is_staff=True)
    approver.user_permissions.add(
        *Permission.objects.filter(codename__in=["approve_secure_embed", "view_workbook"])
    )
    client.force_login(approver)

    assert "approve_secure_embed" in offered_actions(client)
    approve_in_admin(client, private)

    private.refresh_from_db()
    assert private.secure_embed_approved_by == approver


@pytest.mark.parametrize("role", ["curator", "moderator"])
@pytest.mark.django_db
def test_curators_and_moderators_cannot_approve(client, private, role):
    user = {"curator": CuratorFactory, "moderator": ModeratorFactory}[role]()
    client.force_login(user)

    assert not user.has_perm("workbooks.approve_secure_embed")
    assert {"approve_secure_embed", "withdraw_secure_embed"}.isdisjoint(offered_actions(client))
    response = act(client, "approve_secure_embed", private, confirm="yes")

    assert response.status_code == 200  # the admin answers "no action selected"
    private.refresh_from_db()
    assert private.secure_embed_approved_at is None


@pytest.mark.django_db
def test_the_admin_lists_what_awaits_approval(admin_client, private, author):
    approved = approve(WorkbookFactory(author=author, title="Approved", embed_url=PAGE_URL))
    WorkbookFactory(author=author, title="Public", embed_url=PUBLIC_URL)

    response = admin_client.get(f"{WORKBOOKS_ADMIN}?secure_embed=awaiting")

    assert [w.title for w in response.context["cl"].result_list] == ["Sales plan"]
    response = admin_client.get(f"{WORKBOOKS_ADMIN}?secure_embed=approved")
    assert [w.title for w in response.context["cl"].result_list] == [approved.title]


# --- Configuration -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "starts"),
    [
        pytest.param(None, False, id="unset"),
        pytest.param("under_score.example", False, id="an underscore"),
        pytest.param("embed.example.com", True, id="a domain name"),
    ],
)
def test_secure_embedding_needs_a_member_domain_to_start(domain, starts):
    env = {**PRODUCTION, "SIGMA_EMBED_CLIENT_ID": "client", "SIGMA_EMBED_SECRET": "s3cret"}
    if domain is not None:
        env["SIGMA_EMBED_MEMBER_DOMAIN"] = domain

    result = manage("check", **env)

    assert (result.returncode == 0) is starts, result.stderr
    if not starts:
        assert "SIGMA_EMBED_MEMBER_DOMAIN" in result.stderr


@pytest.mark.django_db
def test_approving_first_shows_each_url_and_approves_nothing_until_confirmed(admin_client, private):
    review = act(admin_client, "approve_secure_embed", private)

    shown = [code.text for code in page(review).find_all("code", data_testid="approve-url")]
    assert shown == [PRIVATE_WORKBOOK]
    private.refresh_from_db()
    assert private.secure_embed_approved_at is None


@pytest.mark.django_db
def test_a_url_changed_between_review_and_confirmation_is_not_approved(admin_client, private):
    review = act(admin_client, "approve_secure_embed", private)
    assert review.status_code == 200
    services.update_workbook(private, embed_url=f"{PRIVATE_WORKBOOK}/page/Finances")

    response = act(
        admin_client,
        "approve_secure_embed",
        private,
        confirm="yes",
        **{f"url-{private.pk}": PRIVATE_WORKBOOK},
    )

    private.refresh_from_db()
    assert private.secure_embed_approved_at is None
    assert "still awaits approval" in response.content.decode()


@pytest.mark.django_db
def test_a_moderator_cannot_put_a_workbook_under_someone_elses_name(client, private):
    moderator = ModeratorFactory()
    client.force_login(moderator)
    url = f"{WORKBOOKS_ADMIN}{private.pk}/change/"
    form = client.get(url)
    assert form.status_code == 200

    client.post(
        url,
        {
            "title": private.title,
            "author": moderator.pk,
            "status": private.status,
            "embed_url": private.embed_url,
            "description": private.description,
            "featured_set-TOTAL_FORMS": 0,
            "featured_set-INITIAL_FORMS": 0,
        },
    )

    private.refresh_from_db()
    assert private.author.username == "author"
    assert "author" not in form.context["adminform"].form.fields
