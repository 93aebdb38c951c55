import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User
from tests.factories import UserFactory


@pytest.mark.django_db
def test_the_database_refuses_a_username_that_differs_only_in_case():
    UserFactory(username="Ada")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(username="ada", email="other@example.com", password="x")


@pytest.mark.django_db
def test_the_database_refuses_an_email_that_differs_only_in_case():
    UserFactory(email="Ada@Example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(username="someone", email="ada@example.COM", password="x")


@pytest.mark.django_db
def test_a_username_is_found_whatever_its_case():
    ada = UserFactory(username="Ada")
    assert User.objects.get_by_natural_key("ADA") == ada


@pytest.mark.django_db
@pytest.mark.parametrize(
    "username",
    [
        "ab",
        "a" * 31,
        "has space",
        "dot.ted",
        "ümlaut",
        "-leading",
        "trailing_",
        "semi;colon",
        "<b>",
    ],
)
def test_it_refuses_usernames_outside_the_allowed_characters_and_length(username):
    user = User(username=username, email="x@example.com")
    with pytest.raises(ValidationError) as error:
        user.full_clean(exclude=["password"])
    assert "username" in error.value.message_dict


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["ada", "Grace_Hopper", "k-johnson", "x" * 30, "r2d2"])
def test_it_accepts_sane_usernames(username):
    User(username=username, email="x@example.com").full_clean(exclude=["password"])


@pytest.mark.django_db
def test_it_refuses_a_website_that_is_not_http():
    user = User(username="ada", email="ada@example.com", website="javascript:alert(1)")
    with pytest.raises(ValidationError) as error:
        user.full_clean(exclude=["password"])
    assert "website" in error.value.message_dict


@pytest.mark.django_db
def test_the_curators_group_exists_after_migrating():
    from django.contrib.auth.models import Group

    from accounts.roles import CURATORS_GROUP

    group = Group.objects.get(name=CURATORS_GROUP)
    assert not group.permissions.filter(content_type__app_label="accounts").exists()
