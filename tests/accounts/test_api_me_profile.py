"""PATCH /api/v1/me/ with the profile's organisation, location, links and pinned workbooks."""

import pytest

from tests.accounts.helpers import ME_URL
from tests.factories import UserFactory, WorkbookFactory

pytestmark = pytest.mark.django_db


def patch_me(client, **fields):
    return client.patch(ME_URL, fields, format="json")


def test_it_saves_and_shows_organisation_location_links_and_pins(auth_client, user):
    first, second = WorkbookFactory(author=user), WorkbookFactory(author=user)

    response = patch_me(
        auth_client,
        organisation="Analytical Engines Ltd",
        location="London",
        links=[
            {"kind": "sigma", "url": "https://community.sigmacomputing.com/u/owner"},
            {"kind": "github", "url": "https://github.com/owner"},
        ],
        pinned_workbook_ids=[second.pk, first.pk],
    )

    assert response.status_code == 200, response.json()
    expected = {
        "organisation": "Analytical Engines Ltd",
        "location": "London",
        "links": [
            {"kind": "github", "url": "https://github.com/owner"},
            {"kind": "sigma", "url": "https://community.sigmacomputing.com/u/owner"},
        ],
        "pinned_workbook_ids": [second.pk, first.pk],
    }
    assert {name: response.json()[name] for name in expected} == expected
    shown = auth_client.get(ME_URL).json()
    assert {name: shown[name] for name in expected} == expected


def test_a_patch_without_them_leaves_them_as_they_were(auth_client, user):
    workbook = WorkbookFactory(author=user)
    patch_me(auth_client, location="London", pinned_workbook_ids=[workbook.pk])

    body = patch_me(auth_client, bio="Engines.").json()

    assert (body["location"], body["pinned_workbook_ids"]) == ("London", [workbook.pk])


def test_an_empty_list_unpins_everything(auth_client, user):
    patch_me(auth_client, pinned_workbook_ids=[WorkbookFactory(author=user).pk])

    body = patch_me(auth_client, pinned_workbook_ids=[]).json()

    assert body["pinned_workbook_ids"] == []
    user.refresh_from_db()
    assert user.pinned_workbook_ids == []


@pytest.mark.parametrize("whose", ["someone else's", "a draft of mine"])
def test_someone_elses_workbook_or_a_draft_is_a_400_with_a_clear_message(auth_client, user, whose):
    workbook = (
        WorkbookFactory(author=UserFactory())
        if whose == "someone else's"
        else WorkbookFactory(author=user, status="draft")
    )

    response = patch_me(auth_client, pinned_workbook_ids=[workbook.pk])

    assert response.status_code == 400
    assert response.json() == {
        "pinned_workbook_ids": ["You can pin only your own published workbooks."]
    }


def test_a_pin_beyond_the_largest_id_is_a_400_from_the_field(auth_client, user):
    """Refused as input, before any query: SQLite cannot compare so large a number with an id (a
    500 before)."""
    response = patch_me(auth_client, pinned_workbook_ids=[2**63])

    assert response.status_code == 400
    assert response.json() == {
        "pinned_workbook_ids": {"0": [f"Ensure this value is less than or equal to {2**63 - 1}."]}
    }


def test_more_than_three_pins_is_a_400(auth_client, user):
    ids = [WorkbookFactory(author=user).pk for _ in range(4)]

    response = patch_me(auth_client, pinned_workbook_ids=ids)

    assert response.status_code == 400
    assert "pinned_workbook_ids" in response.json()


@pytest.mark.parametrize(
    "links",
    [
        [{"kind": "myspace", "url": "https://myspace.com/owner"}],
        [{"kind": "github", "url": "http://github.com/owner"}],
        [{"kind": "github", "url": "https://example.com/owner"}],
        [{"kind": "github"}],
        "https://github.com/owner",
        [{"kind": "github", "url": "https://github.com/owner"}] * 6,
    ],
)
def test_a_bad_link_is_a_400_under_links(auth_client, user, links):
    response = patch_me(auth_client, links=links)

    assert response.status_code == 400
    assert set(response.json()) == {"links"}
    user.refresh_from_db()
    assert user.links == []


def test_a_pin_unpublished_since_is_not_shown(auth_client, user):
    workbook = WorkbookFactory(author=user)
    patch_me(auth_client, pinned_workbook_ids=[workbook.pk])
    workbook.status = "draft"
    workbook.save()

    assert auth_client.get(ME_URL).json()["pinned_workbook_ids"] == []


def test_organisation_and_location_are_text_of_at_most_120_characters(auth_client):
    assert patch_me(auth_client, organisation="x" * 121).status_code == 400
    assert patch_me(auth_client, location=12).status_code == 400


def test_links_sent_as_a_form_are_refused_rather_than_passed_over(auth_client, user):
    response = auth_client.patch(
        ME_URL, "links=github&location=Paris", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"links"}
    user.refresh_from_db()
    assert user.location == ""
