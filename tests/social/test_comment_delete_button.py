"""A comment's Delete is a small button like the site's others (no ▶ disclosure): it posts to a
page asking to confirm, which works without JavaScript, and only that page's form deletes."""

import pytest
from pytest_django.asserts import assertContains, assertRedirects

from social import services
from social.models import Comment
from tests.workbooks.markup import page


def comments_section(response):
    return page(response).find("section", id="comments")


def delete_form(response, comment):
    forms = comments_section(response).find_all("form", action=f"/comments/{comment.pk}/delete/")
    assert len(forms) == 1
    return forms[0]


@pytest.mark.django_db
def test_delete_is_a_small_button_in_a_post_form_not_a_disclosure(client, outsider, workbook):
    comment = services.add_comment(outsider, workbook, "Hello")
    client.force_login(outsider)

    response = client.get(workbook.get_absolute_url())

    section = comments_section(response)
    assert section.find_all("details") == []
    assert section.find_all("summary") == []
    form = delete_form(response, comment)
    assert form.attrs["method"] == "post"
    assert form.find("input", name="step").attrs["value"] == "ask"
    assert form.find_all("input", name="csrfmiddlewaretoken")
    button = form.find("button")
    assert {"button", "button--small"} <= button.classes
    assert button.text == f"Delete the comment by {outsider.display_name}"
    edit = section.find("a", href=f"/comments/{comment.pk}/edit/")
    assert {"button", "button--small"} <= edit.classes


@pytest.mark.parametrize("who", ["outsider", "owner", "staff"])
@pytest.mark.django_db
def test_the_button_asks_to_confirm_on_a_page_and_deletes_nothing(
    client, outsider, owner, staff, workbook, who
):
    comment = services.add_comment(outsider, workbook, "Line one\nLine <b>two</b>")
    client.force_login({"outsider": outsider, "owner": owner, "staff": staff}[who])

    response = client.post(f"/comments/{comment.pk}/delete/", {"step": "ask"})

    assert response.status_code == 200
    assert Comment.objects.filter(pk=comment.pk).exists()
    main = page(response).find("main")
    assert main.find("h1").text == "Delete this comment?"
    assertContains(response, "Line one<br>Line &lt;b&gt;two&lt;/b&gt;")
    form = main.find("form", method="post")
    assert form.attrs["action"] == f"/comments/{comment.pk}/delete/"
    assert form.find_all("input", name="step") == []  # this one deletes
    assert form.find("button").text == "Delete it"
    keep = form.find("a")
    assert keep.text == "Keep it"
    assert keep.attrs["href"] == f"{workbook.get_absolute_url()}#comment-{comment.pk}"


@pytest.mark.django_db
def test_confirming_deletes_and_goes_back_to_the_comments(client, outsider, workbook):
    comment = services.add_comment(outsider, workbook, "Hello")
    client.force_login(outsider)
    asked = client.post(f"/comments/{comment.pk}/delete/", {"step": "ask"})
    form = page(asked).find("main").find("form", method="post")

    response = client.post(form.attrs["action"], follow=True)

    assertRedirects(response, f"{workbook.get_absolute_url()}#comments")
    assertContains(response, "The comment is deleted.")
    assert not Comment.objects.exists()


@pytest.mark.django_db
def test_a_visitor_asking_to_delete_is_sent_to_sign_in(client, outsider, workbook):
    comment = services.add_comment(outsider, workbook, "Hello")

    response = client.post(f"/comments/{comment.pk}/delete/", {"step": "ask"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert Comment.objects.filter(pk=comment.pk).exists()


@pytest.mark.django_db
def test_asking_about_a_comment_that_is_gone_is_a_404(client, outsider, workbook):
    comment = services.add_comment(outsider, workbook, "Hello")
    client.force_login(outsider)
    services.delete_comment(outsider, comment)

    assert client.post(f"/comments/{comment.pk}/delete/", {"step": "ask"}).status_code == 404


@pytest.mark.django_db
def test_the_kept_comment_list_keeps_its_markers_with_the_button(client, outsider, workbook):
    """The list kept for every viewer is cut at each comment's marker: with the button in, each
    viewer still gets each comment once, whole, and their own buttons only on theirs."""
    mine = services.add_comment(outsider, workbook, "Mine")
    services.add_comment(workbook.author, workbook, "Theirs")
    client.force_login(outsider)

    for _ in range(2):  # rendered, then served from what was kept
        response = client.get(workbook.get_absolute_url())
        items = comments_section(response).find_all("li", class_="comment")
        assert [item.find("div", class_="comment__body").text for item in items] == [
            "Mine",
            "Theirs",
        ]
        buttons = [item.find_all("form", action=f"/comments/{mine.pk}/delete/") for item in items]
        assert [len(found) for found in buttons] == [1, 0]
