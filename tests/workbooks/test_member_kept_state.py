"""A member's favorite and follow state and a workbook's comments are kept in the cache between
pages (workbooks.cache.kept_while): a reload reads neither, every write that changes them shows on
the next page, and nothing of one member's reaches another."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import services as account_services
from social import services
from tests.factories import BROWSER, ModeratorFactory, UserFactory, WorkbookFactory
from tests.pages import member_client as signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def workbook():
    ada = UserFactory(username="ada", full_name="Ada Lovelace")
    return WorkbookFactory(author=ada, title="Revenue by region", tags=["finance"])


def page(client, url: str) -> str:
    response = client.get(url, HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200, url
    return response.content.decode()


def favorited(html: str) -> bool:
    assert "fav-button" in html
    return "data-label>Favorited<" in html


def following(html: str) -> bool:
    assert "follow-button" in html
    return "data-label>Following<" in html


def test_a_reload_reads_neither_the_buttons_state_nor_the_comments(workbook):
    services.add_comment(UserFactory(), workbook, "Which regions?")
    client = signed_in(UserFactory())
    url = workbook.get_absolute_url()
    first = page(client, url)

    with CaptureQueriesContext(connection) as captured:
        again = page(client, url)

    sql = "\n".join(query["sql"] for query in captured.captured_queries)
    assert "social_favorite" not in sql, sql
    assert "social_follow" not in sql, sql
    assert "social_comment" not in sql, sql
    assert again.count("Which regions?") == first.count("Which regions?") == 1


def test_a_favorite_and_an_unfavorite_show_on_the_next_page(workbook):
    zelda = UserFactory()
    client = signed_in(zelda)
    url = workbook.get_absolute_url()
    assert not favorited(page(client, url))
    assert not favorited(page(client, url))  # kept

    services.favorite(zelda, workbook)
    assert favorited(page(client, url))

    services.unfavorite(zelda, workbook)
    assert not favorited(page(client, url))


def test_a_follow_and_an_unfollow_show_on_the_next_page(workbook):
    zelda = UserFactory()
    client = signed_in(zelda)
    for url in (workbook.get_absolute_url(), "/u/ada/"):
        assert not following(page(client, url))
    page(client, "/u/ada/")

    services.follow(zelda, workbook.author)
    for url in (workbook.get_absolute_url(), "/u/ada/"):
        assert following(page(client, url)), url

    services.unfollow(zelda, workbook.author)
    for url in (workbook.get_absolute_url(), "/u/ada/"):
        assert not following(page(client, url)), url


def test_one_members_state_never_shows_to_another(workbook):
    zelda, yann = UserFactory(), UserFactory()
    services.favorite(zelda, workbook)
    services.follow(zelda, workbook.author)
    url = workbook.get_absolute_url()
    zeldas = page(signed_in(zelda), url)
    assert favorited(zeldas)
    assert following(zeldas)

    yanns = page(signed_in(yann), url)

    assert not favorited(yanns)
    assert not following(yanns)
    assert not following(page(signed_in(yann), "/u/ada/"))


def test_a_comment_written_edited_or_deleted_shows_on_the_next_page(workbook):
    client = signed_in(UserFactory())
    url = workbook.get_absolute_url()
    assert "No comments yet." in page(client, url)

    author = UserFactory()
    comment = services.add_comment(author, workbook, "First thoughts")
    assert "First thoughts" in page(client, url)

    services.edit_comment(author, comment, "Second thoughts")
    html = page(client, url)
    assert "Second thoughts" in html
    assert "First thoughts" not in html

    services.delete_comment(author, comment)
    html = page(client, url)
    assert "Second thoughts" not in html
    assert "No comments yet." in html


def test_a_commenters_new_name_shows_on_the_next_page(workbook):
    commenter = UserFactory(full_name="Grace Hopper")
    services.add_comment(commenter, workbook, "Nice")
    client = signed_in(UserFactory())
    url = workbook.get_absolute_url()
    assert "Grace Hopper" in page(client, url)

    account_services.update_profile(
        commenter, full_name="Grace Brewster Hopper", bio=commenter.bio, website=commenter.website
    )

    assert "Grace Brewster Hopper" in page(client, url)


def test_each_viewer_gets_only_their_own_controls_on_kept_comments(workbook):
    writer = UserFactory()
    comment = services.add_comment(writer, workbook, "Mine to edit")
    edit = f"/comments/{comment.pk}/edit/"
    delete = f"/comments/{comment.pk}/delete/"
    url = workbook.get_absolute_url()

    writer_client, other_client = signed_in(writer), signed_in(UserFactory())
    for client in (other_client, writer_client):
        page(client, url)  # each reader's view counted (where the gallery's version moves)
    writers = page(writer_client, url)
    assert edit in writers
    assert delete in writers

    # The list kept from the writer's page makes the other member's page.
    with CaptureQueriesContext(connection) as captured:
        others = page(other_client, url)
    assert "social_comment" not in "\n".join(query["sql"] for query in captured.captured_queries)
    assert "Mine to edit" in others
    assert edit not in others
    assert delete not in others

    moderators = page(signed_in(ModeratorFactory()), url)
    assert delete in moderators
    assert edit not in moderators

    visitors = page(Client(), url)
    assert "Mine to edit" in visitors
    assert edit not in visitors
    assert delete not in visitors
