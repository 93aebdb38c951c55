"""Who may see, edit and delete a comment is decided by its queryset (visible_to, editable_by,
deletable_by), which the pages and the API fetch through."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from social import services
from social.models import Comment
from tests.factories import CuratorFactory, ModeratorFactory, UserFactory, WorkbookFactory

ROLES = ["anonymous", "commenter", "workbook_author", "stranger", "curator", "moderator"]


@pytest.fixture
def people(db):
    return {
        "anonymous": AnonymousUser(),
        "commenter": UserFactory(username="commenter"),
        "workbook_author": UserFactory(username="workbook_author"),
        "stranger": UserFactory(username="stranger"),
        "curator": CuratorFactory(username="curator"),
        "moderator": ModeratorFactory(username="moderator"),
    }


@pytest.fixture
def comments(people):
    """A fresh comment and an old one (past the edit window) on a published workbook, and one on a
    workbook its author has since made a draft again."""
    author, commenter = people["workbook_author"], people["commenter"]
    published = WorkbookFactory(author=author, title="Published")
    drafted = WorkbookFactory(author=author, title="Drafted")
    fresh = Comment.objects.create(workbook=published, author=commenter, body="fresh")
    old = Comment.objects.create(workbook=published, author=commenter, body="old")
    Comment.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - Comment.EDIT_WINDOW - timedelta(seconds=1)
    )
    on_draft = Comment.objects.create(workbook=drafted, author=commenter, body="on a draft")
    drafted.status = "draft"
    drafted.save()
    return {"fresh": fresh, "old": old, "on_draft": on_draft}


def bodies(queryset) -> set[str]:
    return set(queryset.values_list("body", flat=True))


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("anonymous", {"fresh", "old"}),
        ("commenter", {"fresh", "old"}),
        ("workbook_author", {"fresh", "old", "on a draft"}),
        ("curator", {"fresh", "old"}),
        ("moderator", {"fresh", "old", "on a draft"}),
    ],
)
def test_a_comment_is_seen_by_whoever_may_open_its_workbook(people, comments, role, visible):
    assert bodies(Comment.objects.visible_to(people[role])) == visible


@pytest.mark.parametrize(
    ("role", "editable", "deletable"),
    [
        ("anonymous", set(), set()),
        ("commenter", {"fresh", "on a draft"}, {"fresh", "old", "on a draft"}),
        ("workbook_author", set(), {"fresh", "old", "on a draft"}),
        ("stranger", set(), set()),
        # Curators are staff, and have no say over comments.
        ("curator", set(), set()),
        ("moderator", set(), {"fresh", "old", "on a draft"}),
    ],
)
def test_its_author_edits_a_comment_for_a_while_and_these_may_delete_it(
    people, comments, role, editable, deletable
):
    assert bodies(Comment.objects.editable_by(people[role])) == editable
    assert bodies(Comment.objects.deletable_by(people[role])) == deletable


@pytest.mark.parametrize("role", ROLES)
def test_the_queryset_and_a_comment_in_hand_agree(people, comments, role):
    user = people[role]
    editable = set(Comment.objects.editable_by(user).values_list("pk", flat=True))
    deletable = set(Comment.objects.deletable_by(user).values_list("pk", flat=True))

    for comment in Comment.objects.select_related("workbook"):
        assert services.can_edit_comment(user, comment) == (comment.pk in editable), comment.body
        assert services.can_delete_comment(user, comment) == (comment.pk in deletable)


def test_get_changeable_finds_what_the_user_may_change(people, comments):
    fresh = comments["fresh"]

    assert Comment.objects.get_changeable(people["commenter"], "change", pk=fresh.pk) == fresh
    assert Comment.objects.get_changeable(people["workbook_author"], "delete", pk=fresh.pk) == fresh


@pytest.mark.parametrize(
    ("role", "action", "comment", "rule"),
    [
        ("stranger", "change", "fresh", Comment.EDIT_RULE),
        ("commenter", "change", "old", Comment.EDIT_RULE),
        ("workbook_author", "change", "fresh", Comment.EDIT_RULE),
        ("stranger", "delete", "fresh", Comment.DELETE_RULE),
        ("curator", "delete", "old", Comment.DELETE_RULE),
    ],
)
def test_get_changeable_refuses_with_the_rule_what_the_user_may_only_see(
    people, comments, role, action, comment, rule
):
    with pytest.raises(PermissionDenied, match=rule):
        Comment.objects.get_changeable(people[role], action, pk=comments[comment].pk)


@pytest.mark.parametrize("action", ["change", "delete"])
def test_get_changeable_does_not_find_a_comment_the_user_cannot_see(people, comments, action):
    """Its own author, too, once the workbook is a draft they cannot open."""
    for role in ("stranger", "commenter"):
        with pytest.raises(Comment.DoesNotExist):
            Comment.objects.get_changeable(people[role], action, pk=comments["on_draft"].pk)
