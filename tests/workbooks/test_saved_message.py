"""The message after publishing or editing a workbook says what the save did: "is published" only
when it became published, "is saved as a draft" for a draft, "changes are saved" for an edit."""

import pytest
from pytest_django.asserts import assertContains, assertNotContains

from tests.factories import WorkbookFactory
from tests.workbooks.markup import page
from tests.workbooks.test_pages import form_data


def flashed(response) -> list[str]:
    return [item.text.strip() for item in page(response).find_all("li", class_="message")]


@pytest.mark.parametrize(
    ("before", "after", "said"),
    [
        ("draft", "draft", "“Ledger” is saved as a draft. Only you can see it."),
        ("draft", "published", "“Ledger” is published."),
        ("published", "published", "Your changes to “Ledger” are saved."),
        (
            "published",
            "draft",
            "“Ledger” is unpublished and saved as a draft. Only you can see it.",
        ),
    ],
)
@pytest.mark.django_db
def test_an_edit_says_what_it_did(client, before, after, said):
    workbook = WorkbookFactory(title="Ledger", status=before)
    client.force_login(workbook.author)

    response = client.post(
        f"/w/{workbook.slug}/edit/", form_data(title="Ledger", status=after), follow=True
    )

    workbook.refresh_from_db()
    assert workbook.status == after
    assert flashed(response) == [said]


@pytest.mark.django_db
def test_editing_a_draft_never_says_it_is_published(client):
    workbook = WorkbookFactory(title="Ledger", status="draft")
    client.force_login(workbook.author)

    response = client.post(
        f"/w/{workbook.slug}/edit/", form_data(title="Ledger", status="draft"), follow=True
    )

    assertNotContains(response, "is published")
    assertContains(response, "is saved as a draft")


@pytest.mark.parametrize(
    ("status", "said"),
    [
        ("published", "“Ledger” is published."),
        ("draft", "“Ledger” is saved as a draft. Only you can see it."),
    ],
)
@pytest.mark.django_db
def test_a_new_workbook_says_published_or_draft(client, user, status, said):
    client.force_login(user)

    response = client.post("/w/new/", form_data(title="Ledger", status=status), follow=True)

    assert flashed(response) == [said]
