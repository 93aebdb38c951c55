"""The workbook pages' template tags and partials work from what the view passes them: rendering
one runs no query (a query inside a tag would run once per card or per page, out of the selector's
sight and its query count)."""

import pytest
from django.template import Context, Template

from tests.factories import PRIVATE_WORKBOOK, WorkbookFactory
from workbooks.models import Workbook


def render(source: str, **context) -> str:
    return Template(source).render(Context(context))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "embed_url", [PRIVATE_WORKBOOK, "https://app.sigmacomputing.com/embed/1-abcdef"]
)
def test_the_embed_tag_runs_no_query(settings, django_assert_num_queries, embed_url):
    settings.SIGMA_EMBED_CLIENT_ID, settings.SIGMA_EMBED_SECRET = "client", "secret"
    workbook = Workbook.objects.get(pk=WorkbookFactory(embed_url=embed_url).pk)

    with django_assert_num_queries(0):
        html = render("{% load embed_tags %}{% secure_embed_note workbook %}", workbook=workbook)

    assert (html == "") == (embed_url != PRIVATE_WORKBOOK)


@pytest.mark.django_db
def test_the_picture_partials_render_one_element_with_no_query(django_assert_num_queries):
    """Written on several lines for people, rendered as one element for the page (spaceless)."""
    workbook = Workbook.objects.select_related("author").get(
        pk=WorkbookFactory(title="quarterly").pk
    )

    with django_assert_num_queries(0):
        avatar = render('{% include "inc/avatar.html" with large=True %}', person=workbook.author)
        thumb = render('{% include "workbooks/inc/thumb.html" %}', workbook=workbook)

    initial = workbook.author.display_name[:1].upper()
    assert avatar == (
        f'<span class="avatar avatar--large hue-{workbook.author.hue}" aria-hidden="true">'
        f"{initial}</span>"
    )
    assert thumb == (
        f'<div class="thumb thumb--placeholder hue-{workbook.placeholder_variant}" '
        'aria-hidden="true"><span>Q</span></div>'
    )
