"""A member's profile beyond name and bio: organisation, location, links and pinned workbooks
(accounts.profiles, written by accounts.services.update_profile)."""

import pytest
from django.core.exceptions import ValidationError

from accounts import profiles, services
from accounts.models import User
from accounts.signals import member_changed
from tests.factories import UserFactory, WorkbookFactory
from workbooks import selectors as workbook_selectors

pytestmark = pytest.mark.django_db


def update(user, **fields):
    names = {"full_name": user.full_name, "bio": user.bio, "website": user.website}
    return services.update_profile(user, **(names | fields))


def errors_of(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# --- Links ----------------------------------------------------------------------------------------


def test_links_are_kept_one_per_kind_in_the_order_of_the_kinds(user):
    update(
        user,
        links=[
            {"kind": "bluesky", "url": "https://bsky.app/profile/owner.example"},
            {"kind": "github", "url": "https://github.com/owner"},
        ],
    )

    user.refresh_from_db()
    assert user.links == [
        {"kind": "github", "url": "https://github.com/owner"},
        {"kind": "bluesky", "url": "https://bsky.app/profile/owner.example"},
    ]


@pytest.mark.parametrize(
    ("links", "message"),
    [
        ([{"kind": "myspace", "url": "https://myspace.com/owner"}], "kind is one of"),
        ([{"kind": "github", "url": "http://github.com/owner"}], "https://"),
        ([{"kind": "github", "url": "javascript:alert(1)"}], "https://"),
        ([{"kind": "github", "url": "https://evil.example/github.com"}], "on github.com"),
        ([{"kind": "github", "url": "https://github.com.evil.example/"}], "on github.com"),
        (
            [{"kind": "x", "url": "https://x.com/a"}, {"kind": "x", "url": "https://x.com/b"}],
            "Only one X link",
        ),
        ([{"kind": "x", "url": "https://x.com/" + "a" * 200}], "at most 200"),
        ([{"kind": "x"}], "{kind, url}"),
        ("https://github.com/owner", "a list"),
        ([{"kind": "github", "url": "https://github.com/x"}] * 6, "At most 5 links"),
    ],
)
def test_a_link_of_an_unknown_kind_not_https_or_off_its_site_is_refused(user, links, message):
    with pytest.raises(ValidationError) as excinfo:
        update(user, links=links)

    assert message in " ".join(errors_of(excinfo)["links"])
    user.refresh_from_db()
    assert user.links == []


def test_a_subdomain_of_the_kinds_site_is_its_site(user):
    update(user, links=[{"kind": "linkedin", "url": "https://www.linkedin.com/in/owner"}])

    user.refresh_from_db()
    assert user.links == [{"kind": "linkedin", "url": "https://www.linkedin.com/in/owner"}]


# --- Pins -----------------------------------------------------------------------------------------


def test_up_to_three_of_the_members_published_workbooks_are_pinned_in_the_order_given(user):
    first, second, third = (WorkbookFactory(author=user) for _ in range(3))

    update(user, pinned_workbook_ids=[third.pk, first.pk, second.pk])

    user.refresh_from_db()
    assert user.pinned_workbook_ids == [third.pk, first.pk, second.pk]


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("others", "only your own published workbooks"),
        ("draft", "only your own published workbooks"),
        ("missing", "only your own published workbooks"),
        ("four", "at most 3"),
        ("twice", "pinned once"),
        ("not ids", "list of workbook ids"),
    ],
)
def test_someone_elses_workbook_a_draft_or_more_than_three_are_refused(user, which, message):
    mine = [WorkbookFactory(author=user) for _ in range(4)]
    pins = {
        "others": [WorkbookFactory(author=UserFactory()).pk],
        "draft": [WorkbookFactory(author=user, status="draft").pk],
        "missing": [mine[0].pk + 1000],
        "four": [workbook.pk for workbook in mine],
        "twice": [mine[0].pk, mine[0].pk],
        "not ids": ["1"],
    }[which]

    with pytest.raises(ValidationError) as excinfo:
        update(user, pinned_workbook_ids=pins)

    assert message in " ".join(errors_of(excinfo)["pinned_workbook_ids"])
    user.refresh_from_db()
    assert user.pinned_workbook_ids == []


def test_a_pin_unpublished_or_deleted_since_is_not_shown(user):
    kept, unpublished, deleted = (WorkbookFactory(author=user) for _ in range(3))
    update(user, pinned_workbook_ids=[unpublished.pk, deleted.pk, kept.pk])
    unpublished.status = "draft"
    unpublished.save()
    deleted.delete()

    assert profiles.shown_pins(user.pk, user.pinned_workbook_ids) == [kept.pk]


# --- The save ---------------------------------------------------------------------------------


def test_fields_not_given_are_left_as_they_were_and_the_change_is_announced(user):
    workbook = WorkbookFactory(author=user)
    update(
        user,
        organisation="Analytical Engines Ltd",
        location="London",
        links=[{"kind": "github", "url": "https://github.com/owner"}],
        pinned_workbook_ids=[workbook.pk],
    )
    heard = []

    def listen(sender, user, fields, **kwargs):
        heard.append(fields)

    member_changed.connect(listen)
    try:
        update(user, bio="Engines.")
    finally:
        member_changed.disconnect(listen)

    user.refresh_from_db()
    assert (user.bio, user.organisation, user.location) == (
        "Engines.",
        "Analytical Engines Ltd",
        "London",
    )
    assert user.links == [{"kind": "github", "url": "https://github.com/owner"}]
    assert user.pinned_workbook_ids == [workbook.pk]
    assert heard == [frozenset({"full_name", "bio", "website"})]


def test_a_refused_pin_saves_nothing_else_either(user):
    with pytest.raises(ValidationError):
        update(user, location="Paris", pinned_workbook_ids=[999_999])

    user.refresh_from_db()
    assert user.location == ""


def test_ids_are_checked_in_one_query(user, django_assert_num_queries):
    ids = [WorkbookFactory(author=user).pk for _ in range(3)]

    with django_assert_num_queries(1):
        profiles.clean_pins(user.pk, ids)


# --- Addresses a browser would read as another site -------------------------------------------

# Python's parsing (which checks the site) and a browser's differ on these, or they make the
# address look like another site's: each would put a link labelled GitHub on another site.
HOSTILE_GITHUB_ADDRESSES = [
    "https://evil.example\\@github.com/me",
    "https://evil.example\\.github.com/me",
    "https://evil.example@github.com/me",
    "https://me:secret@github.com/me",
    "https://github.com:8443/me",
    "https://github.com:443/me",
    "https://github.com/me\u202e",
    "https://github.com/\x00me",
    "https://github.com/\tme",
    "https://github.com/ me",
    "https://github.com/me?",
]


@pytest.mark.parametrize("url", HOSTILE_GITHUB_ADDRESSES)
def test_a_link_a_browser_could_read_as_another_site_is_refused(user, url):
    with pytest.raises(ValidationError) as excinfo:
        update(user, links=[{"kind": "github", "url": url}])

    assert errors_of(excinfo)["links"]
    user.refresh_from_db()
    assert user.links == []


def test_a_links_scheme_and_site_are_stored_in_lower_case_and_the_rest_as_written(user):
    update(user, links=[{"kind": "github", "url": "HTTPS://GitHub.COM/Owner?tab=Repos#Top"}])

    user.refresh_from_db()
    assert user.links == [{"kind": "github", "url": "https://github.com/Owner?tab=Repos#Top"}]


def test_a_stored_link_that_todays_checks_refuse_is_not_shown():
    shown = profiles.shown_links(
        [
            {"kind": "github", "url": "https://evil.example\\@github.com/me"},
            {"kind": "x", "url": "https://x.com/me"},
        ]
    )

    assert [link["url"] for link in shown] == ["https://x.com/me"]


@pytest.mark.parametrize(
    "website",
    [
        "https://github.com@evil.example/",
        "https://evil.example\\@ada.example/",
        "https://ada.example:8443/",
        "https://ada.example/\u202egnp.exe",
    ],
)
def test_a_website_a_browser_could_read_as_another_site_is_refused(user, website):
    with pytest.raises(ValidationError) as excinfo:
        update(user, website=website)

    assert errors_of(excinfo)["website"]
    user.refresh_from_db()
    assert user.website == ""


def test_a_website_kept_as_it_was_is_not_checked_again_so_a_pin_still_saves(user):
    # Saved before addresses were checked this closely.
    User.objects.filter(pk=user.pk).update(website="https://me@ada.example/")
    user.refresh_from_db()
    workbook = WorkbookFactory(author=user)

    services.set_pinned(user, workbook.pk, True)

    user.refresh_from_db()
    assert user.pinned_workbook_ids == [workbook.pk]


# --- Pinning from a workbook's page -----------------------------------------------------------


def test_pins_made_through_two_copies_of_the_member_read_earlier_are_both_kept(user):
    # As two requests at once: each loaded the member before either pinned.
    first, second = WorkbookFactory(author=user), WorkbookFactory(author=user)
    one_request, other_request = (User.objects.get(pk=user.pk) for _ in range(2))

    services.set_pinned(one_request, first.pk, True)
    services.set_pinned(other_request, second.pk, True)

    user.refresh_from_db()
    assert user.pinned_workbook_ids == [first.pk, second.pk]


def test_pinning_keeps_a_name_changed_since_the_member_was_read(user):
    workbook = WorkbookFactory(author=user)
    earlier = User.objects.get(pk=user.pk)
    update(user, full_name="Ada Lovelace")

    services.set_pinned(earlier, workbook.pk, True)

    user.refresh_from_db()
    assert (user.full_name, user.pinned_workbook_ids) == ("Ada Lovelace", [workbook.pk])


def test_the_choices_to_pin_hold_the_members_pins_however_old(user, monkeypatch):
    monkeypatch.setattr(workbook_selectors, "PINNABLE_SHOWN", 2)
    oldest, *_ = (WorkbookFactory(author=user) for _ in range(4))
    update(user, pinned_workbook_ids=[oldest.pk])

    offered = [pk for pk, _ in profiles.pinnable(user.pk, user.pinned_workbook_ids)]

    assert len(offered) == 3
    assert offered[-1] == oldest.pk
