"""The admin in the site's name and colours, its links to each object's public page, the featured
list's compact fields, and the way back: a link to a workbook's admin page for staff who may change it."""

import re
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import (
    CollectionFactory,
    FeaturedFactory,
    ModeratorFactory,
    UserFactory,
    WorkbookFactory,
)
from workbooks.models import Featured

# Pages are kept for readers whose agent looks like a browser (as the page cache's own tests do).
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36"


def html_of(client: Client, url: str) -> str:
    response = client.get(url, HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200, url
    return response.content.decode()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def on_site_links(html: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)" class="viewsitelink">', html)


# --- The site's name and colours ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/admin/", "/admin/workbooks/workbook/", "/admin/workbooks/featured/add/"]
)
def test_admin_pages_carry_the_sites_name_and_colours(admin_client, url):
    html = html_of(admin_client, url)

    assert re.search(r"<title>[^<]*\| Sigma Playground admin</title>", html)
    assert re.search(r'<div id="site-name"><a href="/admin/">Sigma Playground admin</a>', html)
    assert re.search(r'<link rel="stylesheet" href="/static/css/admin\.css[^"]*">', html)
    assert "<style" not in html  # the CSP refuses inline styles: the colours are a stylesheet


@pytest.mark.django_db
def test_the_admins_home_says_what_it_is_for(admin_client):
    assert "<h1>Curate the gallery</h1>" in html_of(admin_client, "/admin/")


# --- From the admin to the site -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_workbooks_admin_page_and_list_link_to_its_public_page(admin_client):
    published = WorkbookFactory(title="Revenue by region")
    draft = WorkbookFactory(title="Draft plan", status="draft")

    change = html_of(admin_client, f"/admin/workbooks/workbook/{published.pk}/change/")
    assert f'href="/w/{published.slug}/" class="viewsitelink"' in change

    listed = on_site_links(html_of(admin_client, "/admin/workbooks/workbook/"))
    assert sorted(listed) == sorted([f"/w/{published.slug}/", f"/w/{draft.slug}/"])
    for url in listed:  # each a page that opens, for the staff who follow it
        assert admin_client.get(url).status_code == 200


@pytest.mark.django_db
def test_a_members_admin_page_and_list_link_to_their_profile(admin_client, superuser):
    member = UserFactory(username="ada")

    change = html_of(admin_client, f"/admin/accounts/user/{member.pk}/change/")
    assert 'href="/u/ada/" class="viewsitelink"' in change
    assert "/u/ada/" in on_site_links(html_of(admin_client, "/admin/accounts/user/"))
    assert admin_client.get("/u/ada/").status_code == 200


@pytest.mark.django_db
def test_collections_link_to_their_page_when_it_is_public(admin_client):
    public = CollectionFactory(title="Finance picks")
    CollectionFactory(title="Mine only", visibility="private")

    listed = on_site_links(html_of(admin_client, "/admin/social/collection/"))
    assert listed == [public.get_absolute_url()]
    assert admin_client.get(listed[0]).status_code == 200
    change = html_of(admin_client, f"/admin/social/collection/{public.pk}/change/")
    assert f'href="{public.get_absolute_url()}" class="viewsitelink"' in change


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "make"),
    [
        ("/admin/workbooks/workbook/", lambda: WorkbookFactory()),
        ("/admin/accounts/user/", lambda: UserFactory()),
        ("/admin/social/collection/", lambda: CollectionFactory()),
    ],
    ids=["workbooks", "members", "collections"],
)
def test_the_on_site_column_reads_nothing_per_row(
    admin_client, django_assert_num_queries, url, make
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make()
    html_of(admin_client, url)  # the session and permissions read once
    with CaptureQueriesContext(connection) as few:
        html_of(admin_client, url)
    for _ in range(5):
        make()
    with django_assert_num_queries(len(few.captured_queries)):
        html = html_of(admin_client, url)
    assert len(on_site_links(html)) >= 6


# --- The featured list's fields -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_featured_list_edits_times_in_one_field_and_notes_in_a_text_area(admin_client):
    featuring = FeaturedFactory(note="Spring challenge")
    html = html_of(admin_client, "/admin/workbooks/featured/")
    assert re.search(r'<input type="datetime-local" name="form-0-ends_at"', html)
    assert re.search(r'<textarea name="form-0-note" cols="22" rows="3"', html)

    response = admin_client.post(
        "/admin/workbooks/featured/",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000",
            "form-0-id": str(featuring.pk),
            "form-0-position": "4",
            "form-0-starts_at": "2026-12-01T09:30",
            "form-0-ends_at": "2026-12-31T18:00",
            "form-0-note": "Winter challenge",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    featuring = Featured.objects.get(pk=featuring.pk)
    local = timezone.get_current_timezone()
    assert featuring.ends_at == datetime(2026, 12, 31, 18, 0, tzinfo=local)
    assert featuring.note == "Winter challenge"
    assert featuring.position == 4


@pytest.mark.django_db
def test_a_time_the_list_cannot_read_is_a_form_error(admin_client):
    featuring = FeaturedFactory(ends_at=timezone.now() + timedelta(days=3))
    response = admin_client.post(
        "/admin/workbooks/featured/",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000",
            "form-0-id": str(featuring.pk),
            "form-0-position": "1",
            "form-0-starts_at": "2026-12-01T09:30",
            "form-0-ends_at": "next Tuesday",
            "form-0-note": "",
            "_save": "Save",
        },
    )
    assert response.status_code == 200
    assert "Enter a valid date/time." in response.content.decode()


# --- From the site to the admin -------------------------------------------------------------------

ADMIN_LINK = 'data-testid="admin-link"'


@pytest.mark.django_db
def test_staff_who_may_change_workbooks_get_a_link_to_its_admin_page(superuser):
    workbook = WorkbookFactory()
    for staff in (superuser, ModeratorFactory()):
        html = html_of(signed_in(staff), workbook.get_absolute_url())
        assert re.search(
            rf'<a class="button button--ghost" href="/admin/workbooks/workbook/{workbook.pk}/change/"'
            rf" {ADMIN_LINK}>Edit in admin",
            html,
        ), staff


@pytest.mark.django_db
def test_no_one_else_gets_the_link_even_from_a_page_staff_saw_first(superuser, curator):
    workbook = WorkbookFactory()
    url = workbook.get_absolute_url()
    assert ADMIN_LINK in html_of(signed_in(superuser), url)  # the shared copy made for staff

    # A curator is staff but may not change workbooks; members and visitors are not staff.
    for reader in (signed_in(curator), signed_in(UserFactory()), Client()):
        for _ in range(3):  # made, kept by address, served from what was kept
            assert ADMIN_LINK not in html_of(reader, url)
    assert ADMIN_LINK in html_of(signed_in(superuser), url)
