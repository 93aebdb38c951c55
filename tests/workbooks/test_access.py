"""Who may open and who may change a workbook is decided by its queryset (visible_to, editable_by),
the one rule the pages, the API and the sockets fetch through."""

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.core.exceptions import PermissionDenied

from tests.factories import CuratorFactory, ModeratorFactory, UserFactory, WorkbookFactory
from workbooks.models import Workbook

ROLES = ["anonymous", "author", "member", "curator", "moderator", "superuser"]


@pytest.fixture
def people(author):
    return {
        "anonymous": AnonymousUser(),
        "author": author,
        "member": UserFactory(username="member"),
        "curator": CuratorFactory(username="curator"),
        "moderator": ModeratorFactory(username="moderator"),
        "superuser": UserFactory(username="root", is_staff=True, is_superuser=True),
    }


@pytest.fixture
def workbooks(author):
    return {
        "published": WorkbookFactory(author=author, title="Published"),
        "draft": WorkbookFactory(author=author, title="Draft", status="draft"),
    }


def titles(queryset) -> set[str]:
    return set(queryset.values_list("title", flat=True))


@pytest.mark.parametrize(
    ("role", "editable"),
    [
        ("anonymous", set()),
        ("author", {"Published", "Draft"}),
        ("member", set()),
        # Curators curate what is published; they change nobody's workbook.
        ("curator", set()),
        ("moderator", {"Published", "Draft"}),
        ("superuser", {"Published", "Draft"}),
    ],
)
@pytest.mark.parametrize("action", ["change", "delete"])
@pytest.mark.django_db
def test_editable_by_is_the_author_s_and_the_moderators(people, workbooks, role, editable, action):
    assert titles(Workbook.objects.editable_by(people[role], action)) == editable


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.django_db
def test_the_queryset_and_a_workbook_in_hand_agree(people, workbooks, role):
    user = people[role]
    editable = set(Workbook.objects.editable_by(user).values_list("pk", flat=True))

    for workbook in Workbook.objects.visible_to(user):
        assert workbook.editable_by(user) == (workbook.pk in editable), workbook.title


@pytest.mark.django_db
def test_a_permission_to_change_reaches_only_what_its_holder_may_open(people, workbooks):
    """change_workbook granted by hand, without view_draft: others' drafts stay out of reach."""
    holder = UserFactory(username="holder", is_staff=True)
    holder.user_permissions.add(Permission.objects.get(codename="change_workbook"))

    assert titles(Workbook.objects.editable_by(holder)) == {"Published"}
    assert titles(Workbook.objects.editable_by(holder, "delete")) == set()


@pytest.mark.django_db
def test_get_editable_finds_what_the_user_may_change(people, workbooks):
    draft = workbooks["draft"]

    assert Workbook.objects.get_editable(people["author"], pk=draft.pk) == draft
    assert Workbook.objects.get_editable(people["moderator"], "delete", pk=draft.pk) == draft


@pytest.mark.django_db
def test_get_editable_refuses_what_the_user_may_only_open(people, workbooks):
    with pytest.raises(PermissionDenied):
        Workbook.objects.get_editable(people["member"], pk=workbooks["published"].pk)
    with pytest.raises(PermissionDenied):
        Workbook.objects.get_editable(people["curator"], "delete", pk=workbooks["published"].pk)


@pytest.mark.parametrize("role", ["anonymous", "member", "curator"])
@pytest.mark.django_db
def test_get_editable_does_not_find_what_the_user_cannot_open(people, workbooks, role):
    with pytest.raises(Workbook.DoesNotExist):
        Workbook.objects.get_editable(people[role], pk=workbooks["draft"].pk)


@pytest.mark.django_db
def test_a_permitted_change_is_found_in_one_query(django_assert_max_num_queries, people, workbooks):
    """Only a refusal asks again (may they open it: a 403, or not: a 404)."""
    with django_assert_max_num_queries(1):
        Workbook.objects.get_editable(people["author"], pk=workbooks["published"].pk)
