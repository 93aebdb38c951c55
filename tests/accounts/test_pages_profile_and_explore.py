"""Public pages about members: the profile at /u/<username>/ (workbooks:author, which also lists their
workbooks: see tests/workbooks/test_pages.py) and finding people with /explore/?q=."""

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from tests.factories import UserFactory
from tests.pages import ESCAPED_SCRIPT, SCRIPT

# --- Profile ------------------------------------------------------------------------------------


def test_the_profile_is_the_workbooks_author_page_at_the_same_address():
    assert reverse("workbooks:author", args=["owner"]) == "/u/owner/"


@pytest.mark.django_db
def test_it_shows_a_members_public_profile(client, user):
    user.bio = "I build Sigma workbooks."
    user.website = "https://owner.example"
    user.save()

    response = client.get("/u/owner/")

    assert response.status_code == 200
    assertContains(response, f'<h1 id="profile-name">{user.full_name}</h1>', html=True)
    assertContains(response, "@owner")
    assertContains(response, "I build Sigma workbooks.")
    assertContains(
        response,
        # rel="me": the member's own page; still nofollow and ugc.
        '<a href="https://owner.example" rel="me nofollow noopener ugc">https://owner.example</a>',
        html=True,
    )


@pytest.mark.parametrize("typed", ["OWNER", "Owner", "oWnEr"])
@pytest.mark.django_db
def test_it_redirects_a_username_in_another_case_to_the_canonical_address(client, user, typed):
    response = client.get(f"/u/{typed}/")

    assertRedirects(response, "/u/owner/", status_code=301)


@pytest.mark.django_db
def test_it_answers_404_for_an_unknown_member(client, user):
    response = client.get("/u/nobody/")

    assert response.status_code == 404


@pytest.mark.django_db
def test_it_answers_404_for_a_deactivated_member(client):
    UserFactory(username="gone", is_active=False)

    response = client.get("/u/gone/")

    assert response.status_code == 404


@pytest.mark.django_db
def test_it_offers_the_edit_button_to_the_owner_only(client, user, other_user):
    edit = 'href="/settings/">Edit profile</a>'
    anonymous = client.get("/u/owner/")
    client.force_login(other_user)
    outsider = client.get("/u/owner/")
    client.force_login(user)
    owner = client.get("/u/owner/")

    assertContains(owner, edit)
    assertNotContains(outsider, edit)
    assertNotContains(anonymous, edit)


@pytest.mark.django_db
def test_it_escapes_a_bio_with_a_script_tag(client, user):
    user.bio = f"Hi{SCRIPT}\nsecond line"
    user.save()

    response = client.get("/u/owner/")

    assertNotContains(response, SCRIPT)
    assertContains(response, f"Hi{ESCAPED_SCRIPT}<br>second line")


@pytest.mark.django_db
def test_it_escapes_a_name_with_a_script_tag_everywhere_it_is_shown(client, user):
    user.full_name = f"Mallory{SCRIPT}"
    user.save()
    client.force_login(user)

    pages = [client.get(url) for url in ("/u/owner/", "/", "/explore/?q=mallory", "/settings/")]

    for page in pages:
        assertNotContains(page, SCRIPT)
        assertContains(page, f"Mallory{ESCAPED_SCRIPT}")


@pytest.mark.django_db
def test_it_escapes_an_attribute_breaking_website_address(client, user):
    # Saved directly: the form and the model refuse it, but the page must not trust the database.
    user.website = 'https://x.example/" onmouseover="alert(1)'
    user.save()

    response = client.get("/u/owner/")

    assertNotContains(response, '" onmouseover="')
    assertContains(response, "&quot; onmouseover=&quot;alert(1)")


# --- Explore ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_finds_people_by_username_or_name_whatever_the_case(client):
    UserFactory(username="ada", full_name="Ada Lovelace")
    UserFactory(username="grace", full_name="Grace Hopper")
    UserFactory(username="lovelace-fan", full_name="Charles Babbage")

    response = client.get("/explore/?q=LOVELACE")

    assert response.status_code == 200
    assertContains(response, 'href="/u/ada/"')
    assertContains(response, 'href="/u/lovelace-fan/"')
    assertNotContains(response, 'href="/u/grace/"')
    assertContains(
        response,
        '<input id="explore-q" type="search" name="q" value="LOVELACE"'
        ' placeholder="Title, tag, description or author" list="explore-suggestions"'
        ' autocomplete="off" data-suggest="/api/v1/tags/" data-suggest-people="/api/v1/users/">',
        html=True,
    )


@pytest.mark.django_db
def test_it_leaves_deactivated_members_out_of_search(client):
    UserFactory(username="ada-active", full_name="Ada")
    UserFactory(username="ada-gone", full_name="Ada", is_active=False)

    response = client.get("/explore/?q=ada")

    assertContains(response, 'href="/u/ada-active/"')
    assertNotContains(response, "ada-gone")


@pytest.mark.django_db
def test_it_lists_no_people_when_nobody_matches(client, user):
    response = client.get("/explore/?q=zebra")

    assertNotContains(response, 'id="people-title"')
    assertNotContains(response, 'href="/u/owner/"')
    assertContains(response, "No workbook matches “zebra”.")


@pytest.mark.django_db
def test_it_lists_people_only_for_a_search(client, user):
    response = client.get("/explore/")

    assertNotContains(response, 'id="people-title"')
    assertNotContains(response, 'href="/u/owner/"')
    assertContains(
        response,
        '<input id="explore-q" type="search" name="q" value=""'
        ' placeholder="Title, tag, description or author" list="explore-suggestions"'
        ' autocomplete="off" data-suggest="/api/v1/tags/" data-suggest-people="/api/v1/users/">',
        html=True,
    )


@pytest.mark.django_db
def test_it_escapes_the_search_words_it_repeats(client):
    response = client.get("/explore/", {"q": SCRIPT})

    assertNotContains(response, SCRIPT)
    assertContains(response, f"No workbook matches “{ESCAPED_SCRIPT}”.")
    assertContains(response, f'value="{ESCAPED_SCRIPT}"')


@pytest.mark.django_db
def test_it_only_answers_get_on_explore(client):
    assert client.post("/explore/", {"q": "ada"}).status_code == 405
