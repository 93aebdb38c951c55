"""The home page's sections: each workbook once, in its most prominent place, each section still
filled to its size; the workbook of the day's panel, the same for every viewer."""

from datetime import timedelta

import pytest
from django.utils import timezone

from social import services as social_services
from tests.factories import BROWSER, FeaturedFactory, UserFactory, WorkbookFactory
from tests.workbooks.markup import page, parse
from workbooks import selectors
from workbooks.models import Workbook

pytestmark = pytest.mark.django_db

# A processed thumbnail as media.services records it on the workbook.
THUMBNAIL = {
    "key": "thumbnails/revenue",
    "fallback": "jpeg",
    "sizes": {"thumb": [150, 150], "small": [300, 169], "medium": [600, 338]},
}


def card_slugs(response, labelled_by: str) -> list[str]:
    sections = page(response).find_all("section", aria_labelledby=labelled_by)
    if not sections:
        return []
    (section,) = sections
    return [
        link.attrs["href"].split("/")[2] for link in section.find_all("a", class_="wb-card__link")
    ]


def favorite_forms(element) -> list:
    return [form for form in element.find_all("form") if "data-favorite-card" in form.attrs]


def favorite_buttons(response) -> list[str]:
    """The workbook ids of every favorite button on the page: one per card and the panel's."""
    return [form.attrs["data-workbook-id"] for form in favorite_forms(page(response))]


def spotlight(response):
    return page(response).find("section", aria_labelledby="wotd-title")


def newest_first(count: int, **fields):
    now = timezone.now()
    return [
        WorkbookFactory(title=f"Workbook {n}", published_at=now - timedelta(hours=n), **fields)
        for n in range(count)
    ]


def test_a_workbook_featured_trending_and_newest_shows_once_as_the_workbook_of_the_day(client):
    star, runner_up, *rest = newest_first(6, trending_score=5)
    FeaturedFactory(workbook=star, position=1)
    FeaturedFactory(workbook=runner_up, position=2)

    response = client.get("/")

    ids = favorite_buttons(response)
    assert sorted(ids) == sorted({str(workbook.pk) for workbook in [star, runner_up, *rest]})
    assert spotlight(response).find("h3").text == star.title
    assert card_slugs(response, "featured-title") == [runner_up.slug]
    assert set(card_slugs(response, "trending-title")) == {workbook.slug for workbook in rest}
    assert star.slug not in card_slugs(response, "trending-title") + card_slugs(
        response, "latest-title"
    )


def test_each_section_still_fills_to_its_size_from_the_next_workbooks(client):
    workbooks = newest_first(30)
    for position, workbook in enumerate(workbooks[:3]):
        FeaturedFactory(workbook=workbook, position=position)
    hot = workbooks[3:13]
    for score, workbook in enumerate(hot):
        type(workbook).objects.filter(pk=workbook.pk).update(trending_score=100 - score)

    response = client.get("/")

    trending = card_slugs(response, "trending-title")
    latest = card_slugs(response, "latest-title")
    assert trending == [workbook.slug for workbook in hot[: selectors.HOME_TRENDING]]
    # The newest 12 not shown above: the two trending left over, then the next ten.
    rest = hot[selectors.HOME_TRENDING :] + workbooks[13:]
    assert latest == [workbook.slug for workbook in rest[: selectors.HOME_LATEST]]
    assert len(favorite_buttons(response)) == len(set(favorite_buttons(response))) == 3 + 8 + 12


def test_a_home_whose_workbooks_are_all_shown_above_latest_has_no_empty_latest_section(client):
    (only,) = newest_first(1, trending_score=3)
    FeaturedFactory(workbook=only)

    response = client.get("/")

    assert favorite_buttons(response) == [str(only.pk)]
    assert page(response).find_all(id="latest-title") == []
    assert "No workbooks yet" not in response.content.decode()


def test_the_workbook_of_the_day_panel_shows_an_excerpt_the_author_counts_tags_and_a_favorite(
    client,
):
    ada = UserFactory(username="ada", full_name="Ada Lovelace")
    words = " ".join(["Revenue per region and quarter, with a drill-down to each account."] * 8)
    star = WorkbookFactory(
        author=ada,
        title="Quarterly revenue",
        description=f"**{words}**",
        tags=["finance", "regions"],
    )
    type(star).objects.filter(pk=star.pk).update(view_count=1234, favorite_count=1, comment_count=2)
    FeaturedFactory(workbook=star, note="A clear example.")

    panel = spotlight(client.get("/"))

    excerpt = panel.find("p", class_="spotlight__description").text
    assert excerpt.startswith("Revenue per region and quarter")
    assert excerpt.endswith("…")
    assert len(excerpt) <= 220
    author = panel.find("p", class_="spotlight__author").find("a")
    assert author.attrs["href"] == "/u/ada/"
    assert author.text.split() == ["A", "Ada", "Lovelace"]  # the avatar's initial, then the name
    assert author.find_all(class_="avatar")
    counts = " ".join(panel.find("p", class_="spotlight__counts").text.split())
    assert counts == "1234 views · 1 favorite · 2 comments"
    assert [tag.text for tag in panel.find("ul", class_="tags").find_all("a")] == [
        "finance",
        "regions",
    ]
    (favorite,) = favorite_forms(panel)
    assert favorite.attrs["data-workbook-id"] == str(star.pk)
    assert favorite.attrs["action"] == f"/w/{star.slug}/favorite/"
    assert " ".join(favorite.find("button").text.split()) == "♥ Favorite Quarterly revenue"
    assert panel.find("blockquote").text == "A clear example."


def test_the_panels_thumbnail_link_is_out_of_the_tab_order_and_every_other_link_has_a_name(client):
    FeaturedFactory(workbook__title="Quarterly revenue")

    panel = spotlight(client.get("/"))

    thumbnail = panel.find("a", class_="spotlight__thumb")
    assert (thumbnail.attrs["tabindex"], thumbnail.attrs["aria-hidden"]) == ("-1", "true")
    named = [link for link in panel.find_all("a") if link is not thumbnail]
    assert named
    assert all(link.text.strip() for link in named)


def test_the_panel_is_the_same_for_a_member_who_favorited_it_as_for_a_visitor(client):
    member = UserFactory()
    star = WorkbookFactory(title="Quarterly revenue")
    FeaturedFactory(workbook=star)
    social_services.favorite(member, star)

    visitor = client.get("/", HTTP_USER_AGENT=BROWSER).content.decode()
    client.force_login(member)
    members = client.get("/", HTTP_USER_AGENT=BROWSER).content.decode()

    panel = members[members.index('<section class="spotlight"') :]
    panel = panel[: panel.index("</section>")]
    assert panel in visitor
    # Its favorite button, whose state social.js reads for the member, as on the cards.
    (favorite,) = favorite_forms(parse(panel))
    assert favorite.attrs["data-workbook-id"] == str(star.pk)
    assert "aria-pressed" not in panel


def test_the_panels_thumbnail_loads_at_once_first_and_as_wide_as_it_shows(client):
    # The home's largest paint: lazily loaded it would wait for the layout, and with a card's sizes
    # (22rem) the browser would pick the 300 px variant for a box twice as wide.
    star = WorkbookFactory(title="Quarterly revenue")
    Workbook.objects.filter(pk=star.pk).update(thumbnail=THUMBNAIL)
    FeaturedFactory(workbook=star)

    img = spotlight(client.get("/")).find("a", class_="spotlight__thumb").find("img")

    assert img.attrs["loading"] != "lazy"
    assert img.attrs["fetchpriority"] == "high"
    sizes = "(max-width: 800px) calc(100vw - 2rem), (max-width: 1200px) 52vw, 38rem"
    assert img.attrs["sizes"] == sizes
    assert img.attrs["srcset"].endswith("600w")
