"""Signing out: POST /accounts/logout/ only, so a link or an image on another site cannot do it."""

import pytest
from django.test import Client
from pytest_django.asserts import assertContains, assertInHTML, assertRedirects

from tests.pages import signed_in_user_id

LOGOUT_URL = "/accounts/logout/"


@pytest.mark.django_db
def test_it_signs_the_member_out_and_sends_them_home(client, user):
    client.force_login(user)

    response = client.post(LOGOUT_URL)

    assertRedirects(response, "/")
    assert signed_in_user_id(client) is None
    assertRedirects(client.get("/settings/"), "/accounts/login/?next=/settings/")


@pytest.mark.django_db
def test_it_shows_the_sign_in_link_again_after_signing_out(client, user):
    client.force_login(user)

    response = client.post(LOGOUT_URL, follow=True)

    assertContains(response, 'href="/accounts/login/"')
    assert 'data-testid="user-menu"' not in response.content.decode()


@pytest.mark.django_db
def test_it_answers_405_to_a_get_and_leaves_the_member_signed_in(client, user):
    client.force_login(user)

    response = client.get(LOGOUT_URL)

    assert response.status_code == 405
    assert response["Allow"] == "POST, OPTIONS"
    assert signed_in_user_id(client) == str(user.pk)


@pytest.mark.django_db
def test_it_refuses_a_sign_out_posted_without_the_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(LOGOUT_URL)

    assert response.status_code == 403
    assert signed_in_user_id(client) == str(user.pk)


@pytest.mark.django_db
def test_it_only_ends_the_session_it_was_posted_from(user):
    laptop, phone = Client(), Client()
    laptop.force_login(user)
    phone.force_login(user)

    laptop.post(LOGOUT_URL)

    assert signed_in_user_id(laptop) is None
    assert signed_in_user_id(phone) == str(user.pk)


@pytest.mark.django_db
def test_it_lets_an_anonymous_visitor_post_without_harm(client):
    response = client.post(LOGOUT_URL)

    assertRedirects(response, "/")


@pytest.mark.django_db
def test_it_puts_a_post_form_with_a_csrf_token_in_the_members_menu(client, user):
    client.force_login(user)

    page = client.get("/").content.decode()

    form_start = page.index(f'<form action="{LOGOUT_URL}" method="post">')
    form = page[form_start : page.index("</form>", form_start) + len("</form>")]
    assert 'name="csrfmiddlewaretoken"' in form
    assertInHTML('<button type="submit" class="link-button">Sign out</button>', form)
    assert f'<a href="{LOGOUT_URL}"' not in page
