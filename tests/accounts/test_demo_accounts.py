"""The demo `make run` seeds: its accounts hold the roles their names say, and it shows profiles,
collections and featured picks, once however often it runs."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command

from accounts import profiles
from accounts.models import User
from accounts.roles import CURATORS_GROUP, MODERATORS_GROUP
from social import collection_selectors
from social.models import Collection, CollectionItem, FeaturedCollection, Notification
from workbooks.models import Featured, Workbook


@pytest.mark.django_db
def test_seeding_gives_each_demo_account_its_role(settings):
    settings.DEBUG = True  # seed_demo refuses to make known-password accounts otherwise
    call_command("seed_demo", verbosity=0)

    def groups(username):
        return set(User.objects.get(username=username).groups.values_list("name", flat=True))

    assert groups("curator") == {CURATORS_GROUP}
    assert groups("moderator") == {MODERATORS_GROUP}
    assert groups("ada") == set()
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.get(username="moderator").has_perm("social.delete_comment")
    assert not User.objects.get(username="curator").has_perm("social.delete_comment")


@pytest.mark.django_db
def test_seeding_shows_profiles_collections_and_a_featured_collection_once(settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)

    ada = User.objects.get(username="ada")
    assert ada.organisation
    assert ada.location
    assert len(ada.links) == 2
    pinned = Workbook.objects.filter(pk__in=ada.pinned_workbook_ids)
    assert len(ada.pinned_workbook_ids) == 2
    assert {w.author_id for w in pinned} == {ada.pk}
    assert all(w.is_published for w in pinned)
    assert len(User.objects.get(username="grace").pinned_workbook_ids) == profiles.MAX_PINS

    visibilities = sorted(Collection.objects.values_list("visibility", flat=True))
    assert visibilities.count(Collection.Visibility.PUBLIC) == 3
    assert visibilities.count(Collection.Visibility.UNLISTED) == 1
    assert visibilities.count(Collection.Visibility.PRIVATE) == 1
    finance = Collection.objects.get(owner=ada, title="Finance essentials")
    assert [item.workbook.title for item in finance.items.order_by("position")] == [
        "Quarterly revenue by region",
        "Cloud spend by team",
        "Pipeline coverage",
        "Marketing attribution",
    ]
    assert [c.pk for c in collection_selectors.featured(AnonymousUser())] == [finance.pk]

    def counts():
        return (
            Collection.objects.count(),
            CollectionItem.objects.count(),
            FeaturedCollection.objects.count(),
            Featured.objects.count(),
            Workbook.objects.count(),
            User.objects.count(),
            Notification.objects.count(),
            list(User.objects.order_by("pk").values_list("pinned_workbook_ids", "links")),
        )

    before = counts()
    call_command("seed_demo", verbosity=0)
    assert counts() == before
