"""The social pages, as a browser without JavaScript sees them: follow, favorite, comments, the people
lists, favorites, the feed and notifications. (social.js does the same actions through the API:
test_site_api.py.)"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from social import services
from social.models import Activity, Comment, Favorite, Follow, MutedVerb, Notification, Verb
from tests.factories import UserFactory, WorkbookFactory
from tests.pages import ESCAPED_SCRIPT, SCRIPT, error_by_field, form_alert
from tests.workbooks.markup import page
from workbooks import cache as gallery_cache

PEOPLE = ["owner", "outsider", "anonymous"]


@pytest.fixture
def visit(client, owner, outsider, staff):
    """The test client signed in as one of the fixture people (or not at all)."""

    def as_(who: str):
        people = {"owner": owner, "outsider": outsider, "staff": staff}
        if who in people:
            client.force_login(people[who])
        return client

    return as_


def follow_form(response):
    forms = page(response).find_all("form", class_="follow-form")
    return forms[0] if forms else None


def nav_bell(response):
    return page(response).find("a", id="notification-bell")


# --- Following -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PEOPLE)
@pytest.mark.django_db
def test_a_profile_offers_following_to_members_signing_in_to_visitors_and_nothing_to_its_owner(
    visit, owner, who
):
    response = visit(who).get("/u/owner/")

    assert response.status_code == 200
    form = follow_form(response)
    if who == "outsider":
        assert form.attrs["method"] == "post"
        assert form.attrs["action"] == "/u/owner/follow/"
        button = form.find("button")
        assert button.attrs["aria-pressed"] == "false"
        assert button.text.strip().startswith("Follow")
        assert form.find("input", name="follow").attrs["value"] == "1"
    elif who == "owner":
        assert form is None  # following yourself is impossible in the UI
    else:
        assert form is None
        assertContains(response, 'href="/accounts/login/?next=/u/owner/">Sign in to follow</a>')
    profile_nav = page(response).find("nav", class_="profile-nav")
    links = {link.attrs["href"] for link in profile_nav.find_all("a")}
    assert {"/u/owner/followers/", "/u/owner/following/", "/u/owner/favorites/"} <= links


@pytest.mark.parametrize("who", PEOPLE)
@pytest.mark.django_db
def test_the_workbook_pages_author_card_offers_following_with_the_real_state(
    visit, owner, outsider, workbook, who
):
    services.follow(outsider, owner)

    response = visit(who).get(workbook.get_absolute_url())

    card = page(response).find("section", class_="author-card")
    assert card.find("a", href="/u/owner/followers/").text == "1 follower"
    forms = card.find_all("form", class_="follow-form")
    if who == "outsider":
        assert forms[0].find("button").attrs["aria-pressed"] == "true"
        assert forms[0].find("input", name="next").attrs["value"] == workbook.get_absolute_url()
    else:
        assert forms == []  # the author does not follow themself; a visitor signs in first


@pytest.mark.django_db
def test_it_follows_without_javascript_and_comes_back_with_a_message(client, owner, outsider):
    client.force_login(outsider)

    response = client.post("/u/owner/follow/", {"follow": "1", "next": "/u/owner/"}, follow=True)

    assertRedirects(response, "/u/owner/")
    assertContains(response, "You follow ")
    assert Follow.objects.filter(follower=outsider, followee=owner).exists()
    button = follow_form(response).find("button")
    assert button.attrs["aria-pressed"] == "true"
    assert button.text.strip().startswith("Following")
    assert follow_form(response).find("input", name="follow").attrs["value"] == "0"
    assertContains(response, ">1 follower</a>")


@pytest.mark.django_db
def test_it_unfollows_and_toggles(client, owner, outsider):
    client.force_login(outsider)
    services.follow(outsider, owner)

    client.post("/u/owner/follow/", {"follow": "0"})
    assert not Follow.objects.filter(follower=outsider, followee=owner).exists()
    client.post("/u/owner/follow/")  # no state asked for: the opposite of the current one
    assert Follow.objects.filter(follower=outsider, followee=owner).exists()
    client.post("/u/owner/follow/")
    assert not Follow.objects.filter(follower=outsider, followee=owner).exists()


@pytest.mark.django_db
def test_it_refuses_a_follow_of_yourself(client, owner):
    client.force_login(owner)

    response = client.post("/u/owner/follow/", {"follow": "1"})

    assert response.status_code == 400
    assertContains(response, "You cannot follow yourself.", status_code=400)
    assert not Follow.objects.exists()


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "javascript:x"])
@pytest.mark.django_db
def test_it_goes_back_only_to_an_address_on_this_site(client, owner, outsider, next_url):
    client.force_login(outsider)

    response = client.post("/u/owner/follow/", {"follow": "1", "next": next_url})

    assertRedirects(response, "/u/owner/", fetch_redirect_response=False)


@pytest.mark.django_db
def test_a_visitor_must_sign_in_to_follow(client, owner):
    response = client.post("/u/owner/follow/", {"follow": "1"})

    assertRedirects(
        response, "/accounts/login/?next=/u/owner/follow/", fetch_redirect_response=False
    )
    assert not Follow.objects.exists()


@pytest.mark.django_db
def test_a_get_of_the_follow_address_changes_nothing(client, owner, outsider):
    client.force_login(outsider)

    response = client.get("/u/owner/follow/")

    assertRedirects(response, "/u/owner/")
    assert not Follow.objects.exists()


@pytest.mark.django_db
def test_too_many_follows_answer_429_with_retry_after(client, outsider, rate_limits):
    client.force_login(outsider)
    others = UserFactory.create_batch(3)

    answers = [client.post(f"/u/{other.username}/follow/", {"follow": "1"}) for other in others]

    assert [answer.status_code for answer in answers] == [302, 302, 429]
    assert 1 <= int(answers[2]["Retry-After"]) <= 60
    assertContains(answers[2], "Too many requests. Try again in", status_code=429)
    assert Follow.objects.count() == 2


@pytest.mark.django_db
def test_following_an_unknown_member_is_404(client, outsider):
    client.force_login(outsider)

    assert client.post("/u/nobody/follow/").status_code == 404


# --- Followers, following ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", PEOPLE)
@pytest.mark.django_db
def test_the_followers_and_following_lists_show_the_people_newest_first(
    visit, owner, outsider, who
):
    ada, bob = UserFactory(full_name="Ada Lovelace"), UserFactory(full_name="Bob Dylan")
    for follower in (outsider, ada, bob):
        services.follow(follower, owner)
    services.follow(owner, ada)
    client = visit(who)

    followers = client.get("/u/owner/followers/")
    following = client.get("/u/owner/following/")

    assert followers.status_code == following.status_code == 200
    names = [item.find("strong").text for item in page(followers).find_all("li", class_="person")]
    assert names == ["Bob Dylan", "Ada Lovelace", outsider.display_name]
    names = [item.find("strong").text for item in page(following).find_all("li", class_="person")]
    assert names == ["Ada Lovelace"]


@pytest.mark.django_db
def test_the_people_lists_are_paginated(client, owner):
    for follower in UserFactory.create_batch(31):
        Follow.objects.create(follower=follower, followee=owner)

    first = client.get("/u/owner/followers/")
    # "Older" carries a cursor (where the next page starts), not a page number (an OFFSET).
    older = page(first).find("a", rel="next").attrs["href"]
    assert older.startswith("?cursor=")
    second = client.get(f"/u/owner/followers/{older}")
    by_number = client.get("/u/owner/followers/?page=2")  # links made before cursors still work

    assert len(page(first).find_all("li", class_="person")) == 30
    assert len(page(second).find_all("li", class_="person")) == 1
    assert (
        page(second).find("li", class_="person").text
        == page(by_number).find("li", class_="person").text
    )
    assertNotContains(second, 'rel="next"')
    newer = page(second).find("a", rel="prev").attrs["href"]
    assert newer.startswith("?cursor=")
    back = client.get(f"/u/owner/followers/{newer}")
    assert [li.text for li in page(back).find_all("li", class_="person")] == [
        li.text for li in page(first).find_all("li", class_="person")
    ]
    assertNotContains(back, 'rel="prev"')


@pytest.mark.django_db
def test_the_people_lists_redirect_another_case_and_404_an_unknown_member(client, owner):
    assertRedirects(client.get("/u/OWNER/following/"), "/u/owner/following/", status_code=301)
    assert client.get("/u/nobody/followers/").status_code == 404


@pytest.mark.django_db
def test_the_people_lists_say_when_there_is_nobody(client, owner):
    assertContains(client.get("/u/owner/followers/"), "Nobody follows")
    assertContains(client.get("/u/owner/following/"), "does not follow anyone yet")


# --- Favorites -------------------------------------------------------------------------------------


def favorite_form(response):
    return page(response).find("form", class_="favorite-form")


@pytest.mark.parametrize("who", PEOPLE)
@pytest.mark.django_db
def test_the_workbook_page_shows_the_viewers_real_favorite_state(visit, outsider, workbook, who):
    services.favorite(outsider, workbook)

    response = visit(who).get(workbook.get_absolute_url())

    if who == "anonymous":
        assertContains(response, "Sign in to favorite")
        assert page(response).find_all("form", class_="favorite-form") == []
        return
    favorited = who == "outsider"
    form = favorite_form(response)
    assert form.attrs["action"] == f"/w/{workbook.slug}/favorite/"
    assert form.find("button").attrs["aria-pressed"] == ("true" if favorited else "false")
    assert form.find("input", name="favorite").attrs["value"] == ("0" if favorited else "1")
    assert form.find("input", name="csrfmiddlewaretoken")


@pytest.mark.django_db
def test_it_favorites_and_unfavorites_without_javascript(client, outsider, workbook):
    client.force_login(outsider)
    url = f"/w/{workbook.slug}/favorite/"

    added = client.post(url, {"favorite": "1", "next": "/explore/"}, follow=True)
    assertRedirects(added, "/explore/")
    assertContains(added, "is in your favorites.")
    assert Favorite.objects.filter(user=outsider, workbook=workbook).exists()

    removed = client.post(url, {"favorite": "0"}, follow=True)
    assertRedirects(removed, workbook.get_absolute_url())
    assertContains(removed, "is no longer in your favorites.")
    assert not Favorite.objects.exists()

    client.post(url)  # no state: toggles
    assert Favorite.objects.filter(user=outsider, workbook=workbook).exists()


@pytest.mark.django_db
def test_a_card_carries_no_viewers_state_and_no_token(client, outsider, workbook):
    anonymous_home = client.get("/")
    client.force_login(outsider)
    services.favorite(outsider, workbook)
    members_home = client.get("/")

    def card_form(response):
        return page(response).find("form", class_="wb-card__favorite")

    for form in (card_form(anonymous_home), card_form(members_home)):
        assert form.attrs["method"] == "get"
        assert form.attrs["action"] == f"/w/{workbook.slug}/favorite/"
        assert form.attrs["data-workbook-id"] == str(workbook.pk)
        assert form.find_all("input") == []  # no CSRF token: the fragment is everyone's
        assert "aria-pressed" not in form.find("button").attrs
    assert card_form(members_home).attrs == card_form(anonymous_home).attrs


@pytest.mark.django_db
def test_a_cards_button_without_javascript_confirms_with_a_post_and_goes_back(
    client, outsider, workbook
):
    client.force_login(outsider)
    url = f"/w/{workbook.slug}/favorite/"

    confirm = client.get(url, HTTP_REFERER="http://testserver/explore/?q=revenue")

    assert confirm.status_code == 200
    assert not Favorite.objects.exists()  # a GET changes nothing
    form = page(confirm).find("main").find("form", method="post")
    assert form.attrs["action"] == url
    assert form.find("input", name="favorite").attrs["value"] == "1"
    assert form.find("input", name="next").attrs["value"] == "http://testserver/explore/?q=revenue"
    done = client.post(url, {"favorite": "1", "next": "http://testserver/explore/?q=revenue"})
    assertRedirects(done, "http://testserver/explore/?q=revenue", fetch_redirect_response=False)
    assertContains(client.get(url), "Remove “Revenue by region” from your favorites?")


@pytest.mark.django_db
def test_a_cards_confirmation_ignores_a_referer_from_another_site(client, outsider, workbook):
    client.force_login(outsider)

    confirm = client.get(f"/w/{workbook.slug}/favorite/", HTTP_REFERER="https://evil.example/")

    next_field = page(confirm).find("input", name="next")
    assert next_field.attrs["value"] == workbook.get_absolute_url()


@pytest.mark.django_db
def test_a_visitor_pressing_a_cards_button_signs_in_first(client, workbook):
    response = client.get(f"/w/{workbook.slug}/favorite/")

    assertRedirects(
        response,
        f"/accounts/login/?next=/w/{workbook.slug}/favorite/",
        fetch_redirect_response=False,
    )


@pytest.mark.django_db
def test_a_draft_cannot_be_favorited(client, owner, outsider, draft):
    client.force_login(owner)

    assert client.post(f"/w/{draft.slug}/favorite/", {"favorite": "1"}).status_code == 404
    assert not Favorite.objects.exists()


@pytest.mark.django_db
def test_too_many_favorites_answer_429_with_retry_after(client, outsider, rate_limits):
    client.force_login(outsider)
    workbooks = WorkbookFactory.create_batch(3)

    answers = [client.post(f"/w/{wb.slug}/favorite/", {"favorite": "1"}) for wb in workbooks]

    assert [answer.status_code for answer in answers] == [302, 302, 429]
    assert answers[2]["Retry-After"].isdigit()
    assertContains(answers[2], "Too many requests.", status_code=429)


@pytest.mark.parametrize("who", PEOPLE)
@pytest.mark.django_db
def test_a_members_favorites_page_shows_their_published_favorites(
    visit, owner, outsider, workbook, who
):
    hidden = WorkbookFactory(title="Later a draft")
    services.favorite(outsider, workbook)
    services.favorite(outsider, hidden)
    hidden.status = "draft"
    hidden.save()

    response = visit(who).get("/u/outsider/favorites/")

    assert response.status_code == 200
    titles = [title.text for title in page(response).find_all("h3", class_="wb-card__title")]
    assert titles == ["Revenue by region"]
    assert page(response).find("form", class_="wb-card__favorite").attrs["method"] == "get"


@pytest.mark.django_db
def test_an_empty_favorites_page_says_so(client, owner, outsider):
    client.force_login(outsider)

    assertContains(client.get("/u/outsider/favorites/"), "You have not favorited a workbook yet.")
    assertContains(client.get("/u/owner/favorites/"), "has not favorited a workbook yet.")


# --- Comments --------------------------------------------------------------------------------------


def comments_section(response):
    return page(response).find("section", id="comments")


@pytest.mark.parametrize("who", PEOPLE)
@pytest.mark.django_db
def test_comments_show_their_author_time_and_whether_edited(visit, owner, outsider, workbook, who):
    first = services.add_comment(outsider, workbook, "First!")
    services.add_comment(owner, workbook, "Thanks.")
    services.edit_comment(outsider, first, "First, and edited.")

    response = visit(who).get(workbook.get_absolute_url())

    items = comments_section(response).find_all("li", class_="comment")
    assert [item.attrs["id"] for item in items] == [
        f"comment-{c.pk}" for c in Comment.objects.all()
    ]
    assert items[0].find("a", class_="comment__author").text == outsider.display_name
    assert items[0].find("div", class_="comment__body").text == "First, and edited."
    assert items[0].find("span", class_="comment__edited").text == "edited"
    assert items[1].find_all("span", class_="comment__edited") == []
    assert items[0].find("time").attrs["datetime"]


@pytest.mark.django_db
def test_a_comment_body_is_escaped_and_only_web_links_are_made_links(client, outsider, workbook):
    body = f"{SCRIPT}\nSee https://example.com/more and javascript:alert(1) or <a href=x>this</a>"
    services.add_comment(outsider, workbook, body)

    response = client.get(workbook.get_absolute_url())

    html = response.content.decode()
    assert SCRIPT not in html
    assert ESCAPED_SCRIPT in html
    assert "&lt;a href=x&gt;this&lt;/a&gt;" in html
    rendered = comments_section(response).find("div", class_="comment__body")
    links = rendered.find_all("a")
    assert [link.attrs["href"] for link in links] == ["https://example.com/more"]
    assert "nofollow" in links[0].attrs["rel"]
    assert rendered.find_all("br")  # the line break is kept
    assert "javascript:alert(1)" in rendered.text
    assert 'href="javascript:' not in html


@pytest.mark.django_db
def test_a_member_posts_a_comment_and_lands_on_it(client, outsider, workbook):
    client.force_login(outsider)

    response = client.post(f"/w/{workbook.slug}/comments/", {"body": "  Lovely maps.  "})

    comment = Comment.objects.get()
    assertRedirects(
        response,
        f"{workbook.get_absolute_url()}#comment-{comment.pk}",
        fetch_redirect_response=False,
    )
    assert (comment.author, comment.body) == (outsider, "Lovely maps.")
    assertContains(client.get(workbook.get_absolute_url()), "Your comment is posted.")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        pytest.param("   ", "Write something first.", id="blank"),
        pytest.param("x" * 2001, "Keep it under 2,000 characters (this is 2,001).", id="too long"),
    ],
)
@pytest.mark.django_db
def test_a_bad_comment_is_400_with_the_error_by_the_field(client, outsider, workbook, body, error):
    client.force_login(outsider)

    response = client.post(f"/w/{workbook.slug}/comments/", {"body": body})

    assert response.status_code == 400
    assert error_by_field(response, "body") == error
    assert not Comment.objects.exists()


@pytest.mark.django_db
def test_a_visitor_is_asked_to_sign_in_to_comment(client, workbook):
    response = client.get(workbook.get_absolute_url())

    section = comments_section(response)
    assert section.find_all("form", class_="comment-form") == []
    sign_in = f"/accounts/login/?next={workbook.get_absolute_url()}%23comments"
    assert section.find("a").attrs["href"] == sign_in
    posted = client.post(f"/w/{workbook.slug}/comments/", {"body": "Hi"})
    assert posted.status_code == 302
    assert posted["Location"].startswith("/accounts/login/")
    assert not Comment.objects.exists()


@pytest.mark.django_db
def test_a_comment_on_a_draft_is_404(client, owner, draft):
    client.force_login(owner)

    assert client.post(f"/w/{draft.slug}/comments/", {"body": "Note to self"}).status_code == 404


@pytest.mark.django_db
def test_too_many_comments_answer_429_and_keep_what_was_written(
    client, outsider, workbook, rate_limits
):
    client.force_login(outsider)
    for n in range(2):
        client.post(f"/w/{workbook.slug}/comments/", {"body": f"Comment {n}"})

    response = client.post(f"/w/{workbook.slug}/comments/", {"body": "One more thing"})

    assert response.status_code == 429
    assert response["Retry-After"].isdigit()
    assert form_alert(response).startswith("Too many requests. Try again in")
    assert page(response).find("textarea", name="body").text.strip() == "One more thing"
    assert Comment.objects.count() == 2


@pytest.mark.parametrize(
    ("who", "may_delete"),
    [("outsider", True), ("owner", True), ("staff", True), ("anonymous", False)],
)
@pytest.mark.django_db
def test_the_delete_button_shows_for_those_allowed(visit, outsider, workbook, who, may_delete):
    comment = services.add_comment(outsider, workbook, "Hello")

    response = visit(who).get(workbook.get_absolute_url())

    forms = comments_section(response).find_all("form", action=f"/comments/{comment.pk}/delete/")
    assert len(forms) == (1 if may_delete else 0)
    if may_delete:
        assert forms[0].attrs["method"] == "post"
        assert forms[0].find("button").text.startswith("Delete")


@pytest.mark.django_db
def test_a_third_member_sees_no_delete_button_and_may_not_delete(client, outsider, workbook):
    comment = services.add_comment(outsider, workbook, "Hello")
    client.force_login(UserFactory())

    response = client.get(workbook.get_absolute_url())

    delete = f"/comments/{comment.pk}/delete/"
    assert comments_section(response).find_all("form", action=delete) == []
    assert client.post(delete, {"step": "ask"}).status_code == 403
    assert client.post(delete).status_code == 403
    assert Comment.objects.filter(pk=comment.pk).exists()


@pytest.mark.parametrize("who", ["outsider", "owner", "staff"])
@pytest.mark.django_db
def test_the_comments_author_the_workbooks_author_and_staff_may_delete(
    visit, outsider, workbook, who
):
    comment = services.add_comment(outsider, workbook, "Hello")

    response = visit(who).post(f"/comments/{comment.pk}/delete/", follow=True)

    assertRedirects(response, f"{workbook.get_absolute_url()}#comments")
    assertContains(response, "The comment is deleted.")
    assert not Comment.objects.exists()


@pytest.mark.django_db
def test_the_author_edits_a_comment_within_15_minutes(client, outsider, workbook):
    comment = services.add_comment(outsider, workbook, "Frist")
    client.force_login(outsider)
    detail = client.get(workbook.get_absolute_url())
    assert comments_section(detail).find("a", href=f"/comments/{comment.pk}/edit/")

    form = client.get(f"/comments/{comment.pk}/edit/")
    assert page(form).find("textarea", name="body").text.strip() == "Frist"
    response = client.post(f"/comments/{comment.pk}/edit/", {"body": "First"})

    assertRedirects(
        response,
        f"{workbook.get_absolute_url()}#comment-{comment.pk}",
        fetch_redirect_response=False,
    )
    comment.refresh_from_db()
    assert comment.body == "First"
    assert comment.edited_at is not None


@pytest.mark.django_db
def test_an_empty_edit_is_400_with_the_error_by_the_field(client, outsider, workbook):
    comment = services.add_comment(outsider, workbook, "Hello")
    client.force_login(outsider)

    response = client.post(f"/comments/{comment.pk}/edit/", {"body": ""})

    assert response.status_code == 400
    assert error_by_field(response, "body") == "Write something first."


@pytest.mark.django_db
def test_a_comment_cannot_be_edited_after_15_minutes_or_by_someone_else(
    client, owner, outsider, workbook
):
    comment = services.add_comment(outsider, workbook, "Hello")
    client.force_login(owner)
    assert client.get(f"/comments/{comment.pk}/edit/").status_code == 403
    assert client.post(f"/comments/{comment.pk}/edit/", {"body": "Hacked"}).status_code == 403

    Comment.objects.filter(pk=comment.pk).update(created_at=timezone.now() - timedelta(minutes=16))
    client.force_login(outsider)
    detail = client.get(workbook.get_absolute_url())

    assert comments_section(detail).find_all("a", href=f"/comments/{comment.pk}/edit/") == []
    assert client.post(f"/comments/{comment.pk}/edit/", {"body": "Late"}).status_code == 403
    comment.refresh_from_db()
    assert comment.body == "Hello"


@pytest.mark.django_db
def test_a_comment_on_someone_elses_draft_is_404(client, outsider, draft):
    comment = Comment.objects.create(workbook=draft, author=draft.author, body="Hidden")
    client.force_login(outsider)

    assert client.post(f"/comments/{comment.pk}/delete/").status_code == 404
    assert client.get(f"/comments/{comment.pk}/edit/").status_code == 404


# --- Feed ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_feed_shows_what_the_people_you_follow_did_newest_first(client, owner, outsider):
    followed = UserFactory(full_name="Ada Lovelace")
    stranger = UserFactory(full_name="Not Followed")
    services.follow(outsider, followed)
    wb = WorkbookFactory(author=followed, title="Engines")  # published: in Ada's activity
    services.favorite(followed, WorkbookFactory(author=owner, title="Looms"))
    services.follow(followed, owner)
    WorkbookFactory(author=stranger, title="Unseen")
    WorkbookFactory(author=followed, title="A draft", status="draft")
    client.force_login(outsider)

    response = client.get("/feed/")

    assert response.status_code == 200
    texts = [
        item.find("p", class_="activity__text").text.strip()
        for item in page(response).find_all("li", class_="activity__item")
    ]
    assert texts == [
        f"Ada Lovelace followed {owner.display_name}",
        "Ada Lovelace favorited Looms",
        "Ada Lovelace published Engines",
    ]
    assertContains(response, f'href="{wb.get_absolute_url()}"')


@pytest.mark.django_db
def test_the_feed_invites_to_follow_when_empty_and_needs_a_sign_in(client, outsider):
    assertRedirects(client.get("/feed/"), "/accounts/login/?next=/feed/")
    client.force_login(outsider)

    assertContains(client.get("/feed/"), "Follow authors whose work you like")


@pytest.mark.django_db
def test_the_feed_is_paginated(client, outsider):
    followed = UserFactory()
    Follow.objects.create(follower=outsider, followee=followed)
    Activity.objects.bulk_create(
        Activity(actor=followed, verb=Verb.FOLLOWED, subject=outsider) for _ in range(31)
    )
    client.force_login(outsider)

    first = client.get("/feed/")
    older = page(first).find("a", rel="next").attrs["href"]
    assert older.startswith("?cursor=")  # where the next page starts, not an OFFSET
    assert len(page(first).find_all("li", class_="activity__item")) == 30
    assert len(page(client.get(f"/feed/{older}")).find_all("li", class_="activity__item")) == 1
    assert len(page(client.get("/feed/?page=2")).find_all("li", class_="activity__item")) == 1


# --- Notifications ---------------------------------------------------------------------------------


def notification_items(response):
    return page(response).find("ol", class_="notifications").find_all("li", class_="notification")


@pytest.mark.django_db
def test_notifications_are_listed_newest_first_with_the_unread_highlighted(
    client, owner, outsider, workbook
):
    services.follow(outsider, owner)
    services.favorite(outsider, workbook)
    comment = services.add_comment(outsider, workbook, "Nice")
    services.follow(owner, outsider)  # the outsider's, not the owner's
    first = Notification.objects.filter(recipient=owner).order_by("pk").first()
    services.mark_read(owner, [first.pk])
    client.force_login(owner)

    response = client.get("/notifications/")

    assert response.status_code == 200
    items = notification_items(response)
    name = outsider.display_name
    assert [item.find("p", class_="notification__text").text.strip() for item in items] == [
        f"Unread: {name} commented on Revenue by region",
        f"Unread: {name} favorited Revenue by region",
        f"{name} followed you",
    ]
    assert ["notification--unread" in item.classes for item in items] == [True, True, False]
    comment_link = items[0].find("p").find_all("a")[1]
    assert comment_link.attrs["href"] == f"{workbook.get_absolute_url()}#comment-{comment.pk}"
    assert [len(item.find_all("form")) for item in items] == [1, 1, 0]


@pytest.mark.django_db
def test_the_nav_bell_shows_the_unread_count_and_the_newest_id_to_members_only(
    client, owner, outsider, workbook
):
    assert page(client.get("/explore/")).find_all("a", id="notification-bell") == []
    services.favorite(outsider, workbook)
    services.add_comment(outsider, workbook, "Nice")
    newest = Notification.objects.filter(recipient=owner).latest("pk")
    client.force_login(owner)

    bell = nav_bell(client.get("/explore/"))

    assert bell.attrs["href"] == "/notifications/"
    assert bell.attrs["data-unread"] == "2"
    assert bell.attrs["data-last-id"] == str(newest.pk)
    assert bell.attrs["aria-label"] == "Notifications, 2 unread"
    assert bell.find("span", class_="nav__bell-count").text == "2"


@pytest.mark.django_db
def test_a_member_with_no_notifications_has_a_quiet_bell(client, outsider):
    client.force_login(outsider)

    bell = nav_bell(client.get("/"))

    assert (bell.attrs["data-unread"], bell.attrs["data-last-id"]) == ("0", "0")
    assert "hidden" in bell.find("span", class_="nav__bell-count").attrs


@pytest.mark.django_db
def test_a_member_marks_one_notification_read(client, owner, outsider, workbook):
    services.favorite(outsider, workbook)
    services.add_comment(outsider, workbook, "Nice")
    services.add_comment(owner, WorkbookFactory(author=outsider), "Mine")
    theirs = Notification.objects.get(recipient=outsider)
    one = Notification.objects.filter(recipient=owner).order_by("pk").first()
    client.force_login(owner)

    response = client.post("/notifications/read/", {"id": [one.pk, theirs.pk]})

    assertRedirects(response, "/notifications/")
    assert set(Notification.objects.filter(read=True).values_list("pk", flat=True)) == {one.pk}


@pytest.mark.django_db
def test_a_member_marks_all_read(client, owner, outsider, workbook):
    services.favorite(outsider, workbook)
    services.add_comment(outsider, workbook, "Nice")
    client.force_login(owner)

    response = client.post("/notifications/read/", {"all": "1"}, follow=True)

    assertContains(response, "All your notifications are marked read.")
    assert not Notification.objects.filter(read=False).exists()
    assert nav_bell(response).attrs["data-unread"] == "0"
    assertNotContains(response, "Mark all read")


@pytest.mark.django_db
def test_marking_read_needs_which_ones(client, owner):
    client.force_login(owner)

    response = client.post("/notifications/read/", {"id": "x"})

    assert response.status_code == 400


@pytest.mark.django_db
def test_a_member_mutes_kinds_of_notifications(client, owner, outsider, workbook):
    client.force_login(owner)

    response = client.post(
        "/notifications/muted/", {"muted": ["followed", "commented"]}, follow=True
    )

    assertContains(response, "Your notification settings are saved.")
    assert set(MutedVerb.objects.filter(user=owner).values_list("verb", flat=True)) == {
        "followed",
        "commented",
    }
    checked = {
        box.attrs["value"]
        for box in page(response).find_all("input", name="muted")
        if "checked" in box.attrs
    }
    assert checked == {"followed", "commented"}
    services.add_comment(outsider, workbook, "Muted")
    services.favorite(outsider, workbook)
    assert list(Notification.objects.values_list("verb", flat=True)) == ["favorited"]


@pytest.mark.django_db
def test_an_unknown_kind_to_mute_is_400_with_the_error_by_the_checkboxes(client, owner):
    client.force_login(owner)

    response = client.post("/notifications/muted/", {"muted": ["everything"]})

    assert response.status_code == 400
    box = page(response).find("div", id="id_muted_error")
    assert "everything is not one of the available choices" in box.text
    assert not MutedVerb.objects.exists()


@pytest.mark.parametrize("url", ["/feed/", "/notifications/"])
@pytest.mark.django_db
def test_the_feed_and_notifications_need_a_sign_in(client, url):
    assertRedirects(client.get(url), f"/accounts/login/?next={url}")


@pytest.mark.django_db
def test_a_member_sees_only_their_own_notifications(client, owner, outsider, workbook):
    services.favorite(outsider, workbook)
    client.force_login(outsider)

    response = client.get("/notifications/")

    assert notification_items(response) == []
    assertContains(response, "Nothing yet.")


# --- Methods ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/w/{slug}/comments/",
        "/comments/{comment}/delete/",
        "/notifications/read/",
        "/notifications/muted/",
    ],
)
@pytest.mark.django_db
def test_actions_answer_only_post(client, outsider, workbook, url):
    comment = services.add_comment(outsider, workbook, "Hello")
    client.force_login(outsider)

    response = client.get(url.format(slug=workbook.slug, comment=comment.pk))

    assert response.status_code == 405
    assert Comment.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/u/owner/followers/",
        "/u/owner/following/",
        "/u/owner/favorites/",
        "/feed/",
        "/notifications/",
    ],
)
@pytest.mark.django_db
def test_pages_answer_only_get(client, owner, url):
    client.force_login(owner)

    assert client.post(url).status_code == 405


# --- Query counts ----------------------------------------------------------------------------------


def count_queries(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    sql = [query["sql"] for query in captured.captured_queries]
    return len(sql), "\n".join(sql)


def grow_feed(viewer, rows: int) -> None:
    """Activity of every kind by people the viewer follows, with workbooks and subjects."""
    have = Activity.objects.count()
    for n in range(have, rows):
        actor = UserFactory()
        Follow.objects.create(follower=viewer, followee=actor)
        verb = [Verb.FOLLOWED, Verb.FAVORITED, Verb.COMMENTED][n % 3]
        if verb == Verb.FOLLOWED:
            Activity.objects.create(actor=actor, verb=verb, subject=UserFactory())
        else:
            Activity.objects.create(actor=actor, verb=verb, workbook=WorkbookFactory())


def grow_notifications(viewer, rows: int) -> None:
    have = Notification.objects.filter(recipient=viewer).count()
    for n in range(have, rows):
        verb = [Verb.FOLLOWED, Verb.FAVORITED, Verb.COMMENTED, Verb.FEATURED][n % 4]
        workbook = None if verb == Verb.FOLLOWED else WorkbookFactory(author=viewer)
        Notification.objects.create(
            recipient=viewer, actor=UserFactory(), verb=verb, workbook=workbook, read=n % 2 == 0
        )


def grow_followers(person, rows: int) -> None:
    have = Follow.objects.filter(followee=person).count()
    for _ in range(have, rows):
        Follow.objects.create(follower=UserFactory(), followee=person)
        Follow.objects.create(follower=person, followee=UserFactory())


def grow_favorites(person, rows: int) -> None:
    have = Favorite.objects.filter(user=person).count()
    for _ in range(have, rows):
        Favorite.objects.create(user=person, workbook=WorkbookFactory())


# (url, how the rows grow, queries for the signed-in owner): what the queries are. Every page of a
# signed-in member starts with the user; the session and the bell come from the cache once the
# session's first page has vouched for its copy (accounts.sessions, social.selectors.bell).
SIGNED_IN_LISTS = [
    # + the ids of the members followed, whose tokens the kept first page depends on (social.kept:
    # a reload while nothing changed costs the user alone); one page of activity with actors,
    # workbooks and subjects (the followed ids in a subquery).
    pytest.param("/feed/", grow_feed, 3, id="feed"),
    # + the muted kinds for the form; one page of notifications with actors and workbooks.
    pytest.param("/notifications/", grow_notifications, 3, id="notifications"),
    # + the member; one page of people.
    pytest.param("/u/owner/followers/", grow_followers, 3, id="followers"),
    pytest.param("/u/owner/following/", grow_followers, 3, id="following"),
    # + the member; one page of cards with their authors.
    pytest.param("/u/owner/favorites/", grow_favorites, 3, id="favorites"),
]


@pytest.mark.parametrize(("url", "grow", "expected"), SIGNED_IN_LISTS)
@pytest.mark.django_db
def test_a_list_page_costs_the_same_queries_for_3_and_for_30_rows(
    client, owner, url, grow, expected
):
    client.force_login(owner)
    client.get("/settings/")  # the session's first page: its cached copy is vouched for
    grow(owner, 3)
    few, _ = count_queries(client, url)
    grow(owner, 30)
    many, sql = count_queries(client, url)

    assert few == many, sql
    assert many == expected, sql


@pytest.mark.parametrize(
    ("url", "grow"),
    [
        pytest.param("/u/owner/followers/", grow_followers, id="followers"),
        pytest.param("/u/owner/favorites/", grow_favorites, id="favorites"),
    ],
)
@pytest.mark.django_db
def test_a_public_list_costs_a_visitor_two_queries_however_long(client, owner, url, grow):
    # The member; one page of rows.
    grow(owner, 3)
    few, _ = count_queries(client, url)
    grow(owner, 30)
    many, sql = count_queries(client, url)

    assert few == many == 2, sql


@pytest.mark.django_db
def test_a_workbooks_comments_cost_one_query_however_many(client, workbook):
    for n in range(3):
        services.add_comment(UserFactory(), workbook, f"Comment {n}")
    few, _ = count_queries(client, workbook.get_absolute_url())
    for n in range(27):
        Comment.objects.create(workbook=workbook, author=UserFactory(), body=f"More {n}")
    # Rendered anew, as the first time (from an empty cache): nothing kept from the first render.
    gallery_cache.gallery_changed()
    many, sql = count_queries(client, workbook.get_absolute_url())

    assert few == many, sql
