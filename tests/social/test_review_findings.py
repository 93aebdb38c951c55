"""Bugs found in review: each test failed before its fix."""

import pytest
from django.urls import reverse
from django.utils import timezone

from social import services
from social.models import Notification, Verb
from tests.factories import WorkbookFactory
from workbooks.models import Workbook


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["²", "1,²,3", "¹²"])
def test_favorited_ignores_digits_int_cannot_read(outsider_client, raw):
    # "²".isdigit() is True but int("²") raises: it was a 500.
    response = outsider_client.get(reverse("api-me-favorited"), {"ids": raw})
    assert response.status_code == 200
    assert response.json() == {"favorited": []}


@pytest.mark.django_db
def test_mark_read_ignores_digits_int_cannot_read(client, outsider):
    client.force_login(outsider)
    response = client.post(reverse("social:notifications-read"), {"id": "²"})
    assert response.status_code == 400  # "Say which notification", not a 500


@pytest.fixture
def unpublished_since(owner, outsider):
    """A workbook the outsider was told of when it was published; a draft (renamed) since."""
    workbook = WorkbookFactory(author=owner, title="Revenue by region")
    services.follow(outsider, owner)
    services.fan_out_published(workbook.pk)
    assert Notification.objects.filter(recipient=outsider, verb=Verb.PUBLISHED).exists()
    Workbook.objects.filter(pk=workbook.pk).update(status="draft", title="Secret merger plan")
    return workbook


@pytest.mark.django_db
def test_a_notification_does_not_show_a_workbook_unpublished_since(
    client, outsider, unpublished_since
):
    client.force_login(outsider)
    response = client.get(reverse("social:notifications"))
    assert response.status_code == 200
    assert "Secret merger plan" not in response.content.decode()
    assert unpublished_since.slug not in response.content.decode()


@pytest.mark.django_db
def test_the_api_does_not_show_a_workbook_unpublished_since(outsider_client, unpublished_since):
    response = outsider_client.get("/api/v1/notifications/")
    assert response.status_code == 200
    [item] = response.json()["results"]
    assert item["target"] is None
    assert "Secret merger plan" not in response.content.decode()


@pytest.mark.django_db
def test_its_author_still_sees_the_workbook_in_their_notifications(client, owner, outsider, draft):
    # Comments and favorites from when it was published: the author may still see it.
    Workbook.objects.filter(pk=draft.pk).update(status="published", published_at=timezone.now())
    draft.refresh_from_db()
    services.favorite(outsider, draft)
    Workbook.objects.filter(pk=draft.pk).update(status="draft")
    client.force_login(owner)
    assert draft.title in client.get(reverse("social:notifications")).content.decode()


@pytest.mark.django_db
def test_a_cached_explore_fragment_does_not_carry_another_visitor_s_parameters(client, owner):
    for number in range(25):  # more than a page, so the pager links are there
        WorkbookFactory(author=owner, title=f"Revenue {number}")
    # The first rendering is shared by everyone asking for the same search.
    client.get("/explore/", {"q": "revenue", "next": "//evil.example/"})
    html = client.get("/explore/", {"q": "revenue"}).content.decode()
    assert "evil.example" not in html
    assert "page=2" in html
