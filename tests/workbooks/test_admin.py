"""The curators' admin for workbooks: find, filter, feature, unfeature, unpublish; nothing more."""

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.utils import timezone
from pytest_django.asserts import assertRedirects

from accounts.roles import CURATOR_PERMISSIONS, CURATORS_GROUP
from tests.factories import FeaturedFactory, ModeratorFactory, WorkbookFactory
from workbooks import selectors
from workbooks.models import Featured, Workbook

WORKBOOKS_URL = "/admin/workbooks/workbook/"
FEATURED_URL = "/admin/workbooks/featured/"


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    return client


@pytest.fixture
def gallery(user):
    return {
        "revenue": WorkbookFactory(author=user, title="Quarterly revenue", tags=["finance"]),
        "churn": WorkbookFactory(title="Customer churn", tags=["saas"]),
        "draft": WorkbookFactory(author=user, title="Draft plan", tags=["finance"], status="draft"),
    }


def listed(response) -> set[str]:
    assert response.status_code == 200
    return {workbook.title for workbook in response.context["cl"].result_list}


def act(client, action: str, *workbooks):
    return client.post(
        WORKBOOKS_URL,
        {"action": action, ACTION_CHECKBOX_NAME: [w.pk for w in workbooks], "index": 0},
        follow=True,
    )


# --- The role --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_curators_group_has_exactly_the_curator_permissions():
    group = Group.objects.get(name=CURATORS_GROUP)

    granted = {
        f"{permission.content_type.app_label}.{permission.codename}"
        for permission in group.permissions.select_related("content_type")
    }
    assert granted == set(CURATOR_PERMISSIONS)


@pytest.mark.django_db
def test_a_curator_has_the_role_and_nothing_else(curator):
    assert curator.has_perms(CURATOR_PERMISSIONS)
    for denied in (
        "workbooks.change_workbook",
        "workbooks.add_workbook",
        "workbooks.delete_workbook",
        "workbooks.change_tag",
        "accounts.view_user",
        "accounts.change_user",
    ):
        assert not curator.has_perm(denied), denied


@pytest.mark.parametrize("who", ["anonymous", "member"])
@pytest.mark.django_db
def test_visitors_who_are_not_staff_are_sent_to_the_admin_sign_in(client, user, who):
    if who == "member":
        client.force_login(user)

    response = client.get(WORKBOOKS_URL)

    assertRedirects(response, f"/admin/login/?next={WORKBOOKS_URL}", target_status_code=302)


# --- A curator -------------------------------------------------------------------------------------


def test_a_curator_sees_the_published_workbooks_but_not_members_drafts(curator_client, gallery):
    assert listed(curator_client.get(WORKBOOKS_URL)) == {"Quarterly revenue", "Customer churn"}
    draft_page = curator_client.get(f"{WORKBOOKS_URL}{gallery['draft'].pk}/change/")
    assert draft_page.status_code == 302  # the admin's "does not exist", back to the list


def test_a_moderator_sees_every_workbook_including_drafts(client, gallery):
    client.force_login(ModeratorFactory())

    assert listed(client.get(WORKBOOKS_URL)) == {
        "Quarterly revenue",
        "Customer churn",
        "Draft plan",
    }


@pytest.mark.parametrize(
    ("query", "found"),
    [
        pytest.param("revenue", {"Quarterly revenue"}, id="title"),
        pytest.param("owner", {"Quarterly revenue"}, id="author"),
        pytest.param("saas", {"Customer churn"}, id="tag"),
    ],
)
def test_a_curator_searches_workbooks(curator_client, gallery, query, found):
    assert listed(curator_client.get(WORKBOOKS_URL, {"q": query})) == found


def test_a_curator_filters_by_status_tag_and_featured(curator_client, gallery):
    FeaturedFactory(workbook=gallery["churn"])
    finance = gallery["revenue"].tags.get()

    published = curator_client.get(WORKBOOKS_URL, {"status__exact": "published"})
    tagged = curator_client.get(WORKBOOKS_URL, {"tags__id__exact": finance.pk})
    featured = curator_client.get(WORKBOOKS_URL, {"featured": "yes"})
    not_featured = curator_client.get(WORKBOOKS_URL, {"featured": "no"})

    assert listed(published) == {"Quarterly revenue", "Customer churn"}
    assert listed(tagged) == {"Quarterly revenue"}
    assert listed(featured) == {"Customer churn"}
    assert listed(not_featured) == {"Quarterly revenue"}


def test_a_curator_features_workbooks_with_the_action(curator_client, curator, gallery):
    response = act(
        curator_client, "feature", gallery["revenue"], gallery["churn"], gallery["draft"]
    )

    assert response.status_code == 200
    assert "2 workbook(s) featured from now." in response.content.decode()
    assert set(selectors.featured_workbooks()) == {gallery["revenue"], gallery["churn"]}
    assert set(Featured.objects.values_list("curated_by", flat=True)) == {curator.pk}


def test_a_curator_unfeatures_workbooks_with_the_action(curator_client, gallery):
    FeaturedFactory(workbook=gallery["revenue"])
    FeaturedFactory(workbook=gallery["churn"])

    response = act(curator_client, "unfeature", gallery["revenue"])

    assert "1 featured entr(y/ies) ended." in response.content.decode()
    assert selectors.featured_workbooks() == [gallery["churn"]]


def test_a_curator_unpublishes_workbooks_with_the_action(curator_client, gallery):
    FeaturedFactory(workbook=gallery["churn"])

    response = act(curator_client, "unpublish", gallery["churn"])

    assert "1 workbook(s) unpublished." in response.content.decode()
    gallery["churn"].refresh_from_db()
    assert gallery["churn"].status == "draft"
    assert selectors.featured_workbooks() == []


def test_a_curator_is_not_offered_deleting(curator_client, gallery):
    actions = {name for name, _ in curator_client.get(WORKBOOKS_URL).context["action_form"]
               .fields["action"].choices}  # fmt: skip

    assert actions == {"", "feature", "unfeature", "unpublish"}
    response = act(curator_client, "delete_selected", gallery["churn"])
    assert response.status_code == 200
    assert Workbook.objects.filter(pk=gallery["churn"].pk).exists()


def test_a_curator_may_view_but_not_change_a_workbook(curator_client, gallery):
    workbook = gallery["revenue"]
    url = f"{WORKBOOKS_URL}{workbook.pk}/change/"

    view = curator_client.get(url)
    change = curator_client.post(url, {"title": "Changed by a curator", "status": "published"})

    assert view.status_code == 200
    assert not view.context["has_change_permission"]
    assert change.status_code == 403
    workbook.refresh_from_db()
    assert workbook.title == "Quarterly revenue"


def test_a_curator_cannot_add_or_delete_a_workbook(curator_client, gallery):
    workbook = gallery["revenue"]

    assert curator_client.get(f"{WORKBOOKS_URL}add/").status_code == 403
    assert (
        curator_client.post(f"{WORKBOOKS_URL}{workbook.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert Workbook.objects.filter(pk=workbook.pk).exists()


@pytest.mark.django_db
def test_a_curator_cannot_open_the_members(curator_client, user):
    assert curator_client.get("/admin/accounts/user/").status_code == 403
    assert curator_client.get(f"/admin/accounts/user/{user.pk}/change/").status_code == 403


def split(moment) -> tuple[str, str]:
    return moment.strftime("%Y-%m-%d"), moment.strftime("%H:%M:%S")


def test_a_curator_reorders_and_schedules_featured_entries_in_the_list(curator_client, gallery):
    first = FeaturedFactory(workbook=gallery["revenue"], position=1)
    second = FeaturedFactory(workbook=gallery["churn"], position=2)
    starts = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    ends = starts + timedelta(days=7)
    data = {
        "form-TOTAL_FORMS": 2,
        "form-INITIAL_FORMS": 2,
        "form-MIN_NUM_FORMS": 0,
        "form-MAX_NUM_FORMS": 1000,
        "_save": "Save",
    }
    rows = [(first, 2, "Now second", ""), (second, 1, "Now first", ends)]
    for index, (featuring, position, note, ends_at) in enumerate(rows):
        data |= {
            f"form-{index}-id": featuring.pk,
            f"form-{index}-position": position,
            # The list's one date-and-time field per time (sigma_playground.admin.FeaturingAdmin).
            f"form-{index}-starts_at": " ".join(split(starts)),
            f"form-{index}-ends_at": " ".join(split(ends_at)) if ends_at else "",
            f"form-{index}-note": note,
        }

    listing = curator_client.get(FEATURED_URL)
    response = curator_client.post(FEATURED_URL, data)

    assert listing.status_code == 200
    assert listing.context["cl"].list_editable == ["position", "starts_at", "ends_at", "note"]
    assertRedirects(response, FEATURED_URL)
    second.refresh_from_db()
    assert (second.position, second.note, second.ends_at) == (1, "Now first", ends)
    assert selectors.featured_workbooks() == [gallery["churn"], gallery["revenue"]]


def test_a_curator_adds_a_featured_entry_and_is_recorded_as_its_curator(
    curator_client, curator, gallery
):
    starts = timezone.now().replace(microsecond=0) - timedelta(minutes=5)

    response = curator_client.post(
        f"{FEATURED_URL}add/",
        {
            "workbook": gallery["churn"].pk,
            "position": 1,
            "starts_at_0": split(starts)[0],
            "starts_at_1": split(starts)[1],
            "note": "Great use of cohorts.",
        },
    )

    assertRedirects(response, FEATURED_URL)
    featuring = Featured.objects.get()
    assert featuring.curated_by == curator
    assert selectors.featured_workbooks()[0].featured_note == "Great use of cohorts."


def test_a_curator_cannot_feature_a_members_draft_by_its_id(curator_client, gallery):
    starts = timezone.now().replace(microsecond=0)

    response = curator_client.post(
        f"{FEATURED_URL}add/",
        {
            "workbook": gallery["draft"].pk,
            "position": 1,
            "starts_at_0": split(starts)[0],
            "starts_at_1": split(starts)[1],
            "note": "",
        },
    )

    assert response.status_code == 200
    assert "workbook" in response.context["adminform"].form.errors
    assert not Featured.objects.exists()
    assert b"Draft plan" not in response.content


def test_a_curator_is_not_shown_the_featured_entry_of_a_workbook_that_became_a_draft(
    curator_client, gallery
):
    FeaturedFactory(workbook=gallery["churn"])
    gone_back = FeaturedFactory(workbook=gallery["revenue"])
    Workbook.objects.filter(pk=gallery["revenue"].pk).update(status=Workbook.Status.DRAFT)

    response = curator_client.get(FEATURED_URL)

    assert [f.workbook for f in response.context["cl"].result_list] == [gallery["churn"]]
    assert b"Quarterly revenue" not in response.content
    assert curator_client.get(f"{FEATURED_URL}{gone_back.pk}/change/").status_code == 302


# --- A superuser -----------------------------------------------------------------------------------


def workbook_form(workbook, **overrides):
    published_at = workbook.published_at or timezone.now()
    return {
        "title": workbook.title,
        "author": workbook.author_id,
        "status": workbook.status,
        # A checkbox: sent only when ticked, so a form without it unlists the workbook.
        **({"listed": "on"} if workbook.listed else {}),
        "published_at_0": split(published_at)[0],
        "published_at_1": split(published_at)[1],
        "embed_url": workbook.embed_url,
        "description": workbook.description,
        "tags": [tag.pk for tag in workbook.tags.all()],
        "featurings-TOTAL_FORMS": 0,
        "featurings-INITIAL_FORMS": 0,
        "featurings-MIN_NUM_FORMS": 0,
        "featurings-MAX_NUM_FORMS": 1000,
    } | overrides


def test_a_superuser_changes_a_workbook_through_the_services(admin_client, gallery):
    workbook = gallery["revenue"]

    response = admin_client.post(
        f"{WORKBOOKS_URL}{workbook.pk}/change/",
        workbook_form(workbook, title="Revenue per quarter", description="By **region**"),
    )

    assertRedirects(response, WORKBOOKS_URL)
    workbook.refresh_from_db()
    assert workbook.title == "Revenue per quarter"
    assert workbook.slug == "quarterly-revenue"
    assert workbook.description_html == "<p>By <strong>region</strong></p>"
    assert gallery["revenue"] in selectors.search(selectors.Search(query="quarter"))


def test_a_superuser_cannot_save_a_url_that_is_not_sigma(admin_client, gallery):
    workbook = gallery["revenue"]

    response = admin_client.post(
        f"{WORKBOOKS_URL}{workbook.pk}/change/",
        workbook_form(workbook, embed_url="https://evil.example/embed/1-abcdef"),
    )

    assert response.status_code == 200
    assert "embed_url" in response.context["adminform"].form.errors
    workbook.refresh_from_db()
    assert workbook.embed_url.startswith("https://app.sigmacomputing.com/")


def test_a_superuser_opens_everything(admin_client, gallery):
    workbook = gallery["revenue"]

    for url in (
        WORKBOOKS_URL,
        f"{WORKBOOKS_URL}add/",
        f"{WORKBOOKS_URL}{workbook.pk}/change/",
        f"{WORKBOOKS_URL}{workbook.pk}/delete/",
        FEATURED_URL,
        "/admin/workbooks/tag/",
        "/admin/accounts/user/",
    ):
        assert admin_client.get(url).status_code == 200, url


def test_a_superuser_deletes_workbooks_with_the_action(admin_client, gallery):
    response = admin_client.post(
        WORKBOOKS_URL,
        {
            "action": "delete_selected",
            ACTION_CHECKBOX_NAME: [gallery["churn"].pk],
            "index": 0,
            "post": "yes",
        },
    )

    assertRedirects(response, WORKBOOKS_URL)
    assert not Workbook.objects.filter(pk=gallery["churn"].pk).exists()
