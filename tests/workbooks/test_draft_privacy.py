"""Someone else's draft leaves no trace: not in a new workbook's slug, not in tag pages, feeds or counts.

What a reader can learn must be what they could see: published workbooks. A draft answers exactly as
if it did not exist.
"""

import importlib

import pytest
from rest_framework.test import APIClient

from tests.factories import WorkbookFactory
from workbooks import services
from workbooks.models import Workbook

EMBED = "https://app.sigmacomputing.com/embed/1-Quarterly01"


def create(author, **fields):
    values = {"title": "Secret merger", "embed_url": EMBED} | fields
    return services.create_workbook(author, **values)


# --- Slugs ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_workbook_gets_the_bare_slug_whatever_drafts_others_have(user, other_user):
    create(other_user, title="Secret merger", status="draft")

    workbook = create(user, title="Secret merger", status="published")

    assert workbook.slug == "secret-merger"


@pytest.mark.django_db
def test_publishing_through_the_api_shows_nothing_of_someone_elses_draft(user, other_user):
    create(other_user, title="Secret merger", status="draft")
    client = APIClient()
    client.force_authenticate(user)

    response = client.post(
        "/api/v1/workbooks/",
        {"title": "Secret merger", "embed_url": EMBED, "status": "published"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["slug"] == "secret-merger"


@pytest.mark.django_db
def test_a_draft_gets_an_address_of_its_own(user, other_user):
    first = create(user, status="draft")
    second = create(other_user, status="draft")

    for draft in (first, second):
        assert draft.slug.startswith("secret-merger-")
        assert len(draft.slug) == len("secret-merger-") + 6
    assert first.slug != second.slug


@pytest.mark.django_db
def test_drafts_made_before_addresses_of_their_own_get_one_and_stop_holding_the_bare_slug(
    user, other_user
):
    from django.apps import apps

    migration = importlib.import_module(
        "workbooks.migrations.0005_drafts_get_addresses_of_their_own"
    )
    old_draft = create(other_user, status="draft")
    Workbook.objects.filter(pk=old_draft.pk).update(slug="secret-merger")  # as the old scheme did
    published = create(user, title="Quarterly revenue", status="published")
    once_published = create(user, title="Taken back", status="published")
    services.update_workbook(once_published, status="draft")

    migration.give_drafts_their_own_addresses(apps, None)

    old_draft.refresh_from_db()
    assert old_draft.slug.startswith("secret-merger-")
    assert len(old_draft.slug) == len("secret-merger-") + 6
    assert Workbook.objects.get(pk=published.pk).slug == "quarterly-revenue"
    assert Workbook.objects.get(pk=once_published.pk).slug == "taken-back"
    assert create(user, status="published").slug == "secret-merger"


@pytest.mark.django_db
def test_a_draft_takes_the_titles_slug_when_first_published_and_keeps_it(user):
    draft = create(user, title="Quarterly revenue", status="draft")

    services.update_workbook(draft, status="published")
    draft.refresh_from_db()
    assert draft.slug == "quarterly-revenue"

    services.update_workbook(draft, status="draft")
    services.update_workbook(draft, title="Revenue per quarter", status="published")
    draft.refresh_from_db()
    assert draft.slug == "quarterly-revenue"


@pytest.mark.django_db
def test_a_first_publication_keeps_the_drafts_address_when_a_published_workbook_has_the_slug(
    user, other_user
):
    create(other_user, title="Quarterly revenue", status="published")
    draft = create(user, title="Quarterly revenue", status="draft")
    address = draft.slug

    services.update_workbook(draft, status="published")

    draft.refresh_from_db()
    assert draft.slug == address


@pytest.mark.django_db
def test_a_first_publication_keeps_the_drafts_address_when_the_slug_is_taken_meanwhile(
    user, other_user, monkeypatch
):
    draft = create(user, title="Quarterly revenue", status="draft")
    address = draft.slug
    rival = create(other_user, title="Rival", status="published")
    save = Workbook.save

    def save_after_a_rival_took_the_slug(self, *args, **kwargs):
        # Between the check that the bare slug is free and this write, someone else publishes it.
        if self.pk == draft.pk and self.slug == "quarterly-revenue":
            Workbook.objects.filter(pk=rival.pk).update(slug="quarterly-revenue")
        return save(self, *args, **kwargs)

    monkeypatch.setattr(Workbook, "save", save_after_a_rival_took_the_slug)
    services.update_workbook(draft, status="published")

    draft.refresh_from_db()
    assert (draft.status, draft.slug) == ("published", address)


# --- Tags ----------------------------------------------------------------------------------------


@pytest.fixture
def draft_only_tag(user):
    """A tag on drafts only: one never published, one published once and then taken back."""
    WorkbookFactory(author=user, title="Plan", tags=["project-x"], status="draft")
    unpublished = WorkbookFactory(author=user, title="Was out", tags=["project-x"])
    services.update_workbook(unpublished, status="draft")
    return "project-x"


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/tags/{}/", "/feeds/tags/{}/"], ids=["page", "feed"])
def test_a_tag_used_only_by_drafts_answers_as_no_tag(client, draft_only_tag, url):
    unknown = client.get(url.format("no-such-tag"))
    drafts_only = client.get(url.format(draft_only_tag))

    assert unknown.status_code == 404
    assert drafts_only.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/tags/{}/", "/feeds/tags/{}/"], ids=["page", "feed"])
def test_a_tag_page_is_there_as_long_as_a_published_workbook_has_the_tag(client, user, url):
    WorkbookFactory(author=user, title="Out there", tags=["project-x"])

    assert client.get(url.format("project-x")).status_code == 200


@pytest.mark.django_db
def test_the_tags_api_neither_lists_nor_counts_drafts(api_client, user, draft_only_tag):
    WorkbookFactory(author=user, title="Out there", tags=["finance"])
    WorkbookFactory(author=user, title="Not yet", tags=["finance"], status="draft")

    results = api_client.get("/api/v1/tags/").json()["results"]

    assert [(tag["slug"], tag["workbook_count"]) for tag in results] == [("finance", 1)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/api/v1/workbooks/?tag={}", "/explore/?tag={}"], ids=["API", "explore"]
)
def test_filtering_by_a_tag_used_only_by_drafts_answers_as_an_unknown_tag(
    client, draft_only_tag, url
):
    unknown = client.get(url.format("no-such-tag"))
    drafts_only = client.get(url.format(draft_only_tag))

    assert unknown.status_code == drafts_only.status_code == 200
    assert drafts_only.content == unknown.content
