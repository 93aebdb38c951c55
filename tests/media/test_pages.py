"""Picture uploads on the settings and workbook edit pages, and pictures across the site."""

import pytest
from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains

from media.models import Image
from tests.factories import UserFactory, WorkbookFactory
from tests.media import images

pytestmark = pytest.mark.django_db

AVATAR_URL = "/settings/avatar/"


@pytest.fixture
def member_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    def post(client, url, data=None, name="picture.jpg", **extra):
        with django_capture_on_commit_callbacks(execute=True):
            body = {"image": images.upload(data, name)} if data is not None else {}
            return client.post(url, body, **extra)

    return post


def test_the_settings_page_offers_an_upload_with_initials_until_then(member_client, user):
    response = member_client.get("/settings/")

    assertContains(response, 'enctype="multipart/form-data"')
    assertContains(response, 'accept="image/jpeg,image/png,image/webp,image/gif"')
    assertContains(response, "JPEG, PNG, WebP or GIF, up to 10 MB.")
    assertContains(response, f'<span class="avatar avatar--large hue-{user.hue}"')
    assertNotContains(response, "Remove picture")


@pytest.mark.django_db(transaction=True)  # committed as in production: processed in the request
def test_a_member_uploads_an_avatar_and_sees_it_in_the_navigation_bar(member_client, user):
    response = member_client.post(AVATAR_URL, {"image": images.upload(images.jpeg())}, follow=True)

    image = Image.objects.get()
    assert response.redirect_chain == [("/settings/", 302)]
    assertContains(response, "Your new picture is in place.")
    thumb = f"/media/avatars/{image.content_hash}-thumb"
    assertContains(
        response,
        f'<summary class="menu__toggle" data-testid="user-menu"><picture>'
        f'<source type="image/webp" srcset="{thumb}.webp 150w">'
        f'<img src="{thumb}.jpg" srcset="{thumb}.jpg 150w" class="avatar" alt="" width="150" '
        f'height="150" loading="eager" decoding="async"></picture>',
    )
    assertContains(response, "Remove picture")


@pytest.mark.parametrize(
    ("data", "name", "status", "message"),
    [
        (images.html(), "picture.png", 415, "This is not a picture we can use."),
        (images.truncated(images.jpeg((1200, 900))), "cut.jpg", 400, "damaged or incomplete"),
        (images.png_claiming(100_000, 100_000), "flood.png", 400, "too many pixels"),
        (b"", "empty.jpg", 400, "The submitted file is empty."),
    ],
    ids=["html", "truncated", "pixel-flood", "empty"],
)
def test_a_bad_file_is_refused_on_the_settings_page_with_a_message(
    member_client, user, post, data, name, status, message
):
    response = post(member_client, AVATAR_URL, data, name)

    assertContains(response, message, status_code=status)
    assertContains(response, 'class="field field--invalid"', status_code=status)
    assert not Image.objects.exists()


def test_a_file_over_the_limit_is_refused_with_413_on_the_page(member_client, user, post, settings):
    settings.MEDIA_MAX_UPLOAD_MB = 1

    response = post(member_client, AVATAR_URL, images.jpeg() + b"\0" * (1024 * 1024))

    assertContains(response, "larger than 1 MB", status_code=413)
    assert not Image.objects.exists()


def test_a_body_announced_over_the_limit_gets_a_page_saying_so(member_client, user):
    response = member_client.post(
        AVATAR_URL,
        {"image": images.upload(images.jpeg())},
        CONTENT_LENGTH=str(500 * 1024 * 1024),
        HTTP_REFERER="http://testserver/settings/",
    )

    assertContains(response, "That file is too large", status_code=413)
    assertContains(response, 'href="http://testserver/settings/"', status_code=413)


def test_a_member_removes_the_avatar(member_client, user, post):
    post(member_client, AVATAR_URL, images.jpeg())

    response = member_client.post(AVATAR_URL, {"action": "remove"}, follow=True)

    assertContains(response, "Your picture is removed.")
    assertContains(response, f'<span class="avatar avatar--large hue-{user.hue}"')


def test_a_processing_upload_is_shown_and_polled(member_client, user):
    image = Image.objects.create(kind="avatar", owner=user)

    response = member_client.get("/settings/")

    assertContains(response, "Processing your new picture")
    assertContains(response, f'data-image-poll="/api/v1/images/{image.id}/"')


def test_a_failed_upload_says_why_and_keeps_the_placeholder(member_client, user):
    Image.objects.create(
        kind="avatar",
        owner=user,
        status="failed",
        error="The file was refused by the virus scanner.",
    )

    response = member_client.get("/settings/")

    assertContains(
        response,
        "Your last picture could not be used: The file was refused by the virus scanner.",
    )
    assertContains(response, f'<span class="avatar avatar--large hue-{user.hue}"')


def test_signing_in_is_needed_to_upload(client):
    response = client.post(AVATAR_URL, {"image": images.upload(images.jpeg())})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- Thumbnails -------------------------------------------------------------------------------------


def test_the_author_uploads_a_thumbnail_and_cards_show_it_with_srcset(member_client, user, post):
    workbook = WorkbookFactory(author=user, title="Revenue")

    response = post(member_client, f"/w/{workbook.slug}/thumbnail/", images.png((1280, 720)))

    image = Image.objects.get()
    assert response["Location"] == f"/w/{workbook.slug}/edit/"
    edit = member_client.get(response["Location"])
    assertContains(edit, "Your new thumbnail is being processed")
    assertContains(edit, "Remove thumbnail")
    base = f"/media/thumbnails/{image.content_hash}"
    card = Client().get("/explore/")
    assertContains(
        card,
        f'<source type="image/webp" srcset="{base}-small.webp 300w, {base}-medium.webp 600w" '
        f'sizes="(max-width: 40rem) 100vw, 22rem">',
    )
    assertContains(card, f'<img src="{base}-small.jpg"')
    assertContains(card, 'class="thumb" alt="" width="300" height="169" loading="lazy"')
    page = Client().get(workbook.get_absolute_url())
    assertContains(page, f'<meta property="og:image" content="http://testserver{base}-medium.jpg">')


def test_the_workbook_page_loads_its_thumbnail_at_once_and_first_while_cards_wait(
    member_client, user, post
):
    # The thumbnail over the loading frame is the page's largest paint: lazy loading would hold it
    # until layout, and without a priority it queues behind the page's other pictures.
    workbook = WorkbookFactory(author=user, title="Revenue")
    post(member_client, f"/w/{workbook.slug}/thumbnail/", images.png((1280, 720)))

    page = Client().get(workbook.get_absolute_url())
    card = Client().get("/explore/")

    assertContains(
        page, 'width="300" height="169" loading="eager" fetchpriority="high" decoding="async"'
    )
    assertNotContains(card, "fetchpriority")
    assertContains(card, 'width="300" height="169" loading="lazy" decoding="async"')


def test_the_workbook_page_asks_for_its_thumbnail_as_wide_as_it_shows_there(
    member_client, user, post
):
    # Over the loading frame it fills the page's width, not a card's 22rem: without saying so the
    # browser picks the 300 px variant and stretches it to the frame's width.
    workbook = WorkbookFactory(author=user, title="Revenue")
    post(member_client, f"/w/{workbook.slug}/thumbnail/", images.png((1280, 720)))
    base = f"/media/thumbnails/{Image.objects.get().content_hash}"

    page = Client().get(workbook.get_absolute_url())
    card = Client().get("/explore/")

    assertContains(page, f'srcset="{base}-small.webp 300w, {base}-medium.webp 600w" sizes="100vw"')
    assertContains(card, 'sizes="(max-width: 40rem) 100vw, 22rem"')
    assertNotContains(card, 'sizes="100vw"')


def test_someone_else_cannot_upload_a_thumbnail(member_client, user, post):
    workbook = WorkbookFactory(author=UserFactory())

    response = post(member_client, f"/w/{workbook.slug}/thumbnail/", images.jpeg())

    assert response.status_code == 404
    assert not Image.objects.exists()


def test_a_bad_thumbnail_is_refused_on_the_edit_page(member_client, user, post):
    workbook = WorkbookFactory(author=user)

    response = post(member_client, f"/w/{workbook.slug}/thumbnail/", images.svg(), "x.svg")

    assertContains(response, "This is not a picture we can use.", status_code=415)
    assertContains(response, f'value="{workbook.title}"', status_code=415)


def test_without_a_thumbnail_a_card_shows_the_generated_placeholder():
    workbook = WorkbookFactory(title="Quarterly revenue")

    response = Client().get("/explore/")

    assertContains(
        response,
        f'<div class="thumb thumb--placeholder hue-{workbook.placeholder_variant}" '
        f'aria-hidden="true"><span>Q</span></div>',
    )


def test_the_generated_avatar_colour_comes_from_the_username():
    assert UserFactory.build(username="Ada").hue == UserFactory.build(username="ada").hue
    assert len({UserFactory.build(username=f"member{n}").hue for n in range(40)}) == 8


# --- Serving in development ----------------------------------------------------------------------------


def test_media_is_served_in_development_with_its_type_and_nosniff(
    member_client, user, post, settings
):
    post(member_client, AVATAR_URL, images.jpeg())
    image = Image.objects.get()
    settings.DEBUG = True

    webp = Client().get(f"/media/avatars/{image.content_hash}-small.webp")
    jpeg = Client().get(f"/media/avatars/{image.content_hash}-small.jpg")

    assert webp.status_code == 200
    assert jpeg.status_code == 200
    assert webp["Content-Type"] == "image/webp"
    assert jpeg["Content-Type"] == "image/jpeg"
    assert webp["X-Content-Type-Options"] == "nosniff"


def test_only_the_picture_folders_are_served_and_only_in_development(settings, tmp_path):
    (tmp_path / "media" / "avatars").mkdir(parents=True)
    (tmp_path / "media" / "avatars" / "a-thumb.webp").write_bytes(b"RIFF")
    (tmp_path / "media" / "notes.html").write_bytes(b"<script>alert(1)</script>")
    settings.DEBUG = True

    assert Client().get("/media/notes.html").status_code == 404
    assert Client().get("/media/avatars/a-thumb.webp").status_code == 200
    settings.DEBUG = False
    assert Client().get("/media/avatars/a-thumb.webp").status_code == 404


# --- Queries ------------------------------------------------------------------------------------------


def test_pictures_cost_no_queries(django_assert_num_queries, post, member_client, user):
    """Avatars and thumbnails come from their owner's row: a gallery with pictures costs what one
    without does."""
    WorkbookFactory()
    anonymous = Client()
    anonymous.get("/explore/?page=1")
    with django_assert_num_queries(2):
        anonymous.get("/explore/?sort=latest")

    post(member_client, AVATAR_URL, images.jpeg())
    post(member_client, f"/w/{WorkbookFactory(author=user).slug}/thumbnail/", images.png())

    with django_assert_num_queries(2):
        response = anonymous.get("/explore/?sort=latest&fresh=1")
    assertContains(response, "/media/thumbnails/")


def test_pictures_from_a_cdn_are_allowed_by_the_content_security_policy(settings):
    settings.MEDIA_URL = "https://cdn.example.com/media/"

    policy = Client().get("/explore/")["Content-Security-Policy"]

    img_src = next(d for d in policy.split("; ") if d.startswith("img-src"))
    assert img_src == "img-src 'self' data: blob: https://cdn.example.com"


def test_page_uploads_share_the_apis_hourly_limit(member_client, user, post, upload_rate):
    upload_rate("2/hour")

    codes = [post(member_client, AVATAR_URL, images.jpeg()).status_code for _ in range(2)]
    refused = post(member_client, AVATAR_URL, images.jpeg())

    assert codes == [302, 302]
    assertContains(refused, "You have uploaded many pictures this hour.", status_code=429)


def test_staff_see_uploads_in_the_admin(client, superuser, user, post):
    member = Client()
    member.force_login(user)
    post(member, AVATAR_URL, images.jpeg())
    image = Image.objects.get()
    client.force_login(superuser)

    listing = client.get("/admin/media/image/")
    detail = client.get(f"/admin/media/image/{image.pk}/change/")

    assertContains(listing, str(image.pk))
    assertContains(detail, f"/media/avatars/{image.content_hash}-small.webp")


def test_a_head_request_for_a_picture_answers_like_get(settings, tmp_path):
    (tmp_path / "media" / "avatars").mkdir(parents=True)
    (tmp_path / "media" / "avatars" / "a-thumb.webp").write_bytes(b"RIFF")
    settings.DEBUG = True

    response = Client().head("/media/avatars/a-thumb.webp")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"


@pytest.mark.parametrize(
    "path",
    ["avatars/../notes.html", "avatars/%2e%2e/notes.html", "avatars/..%2fnotes.html", "notes.html"],
)
def test_nothing_but_variant_files_is_served_in_development(settings, tmp_path, path):
    (tmp_path / "media" / "avatars").mkdir(parents=True)
    (tmp_path / "media" / "notes.html").write_bytes(b"<script>alert(1)</script>")
    settings.DEBUG = True

    assert Client().get(f"/media/{path}").status_code == 404


def test_a_staff_editor_sees_the_authors_processing_thumbnail_without_polling_it(
    client, superuser, user
):
    workbook = WorkbookFactory(author=user)
    Image.objects.create(kind="thumbnail", owner=user, holder=workbook.pk)
    client.force_login(superuser)

    response = client.get(f"/w/{workbook.slug}/edit/")

    assertContains(response, "Processing your new picture")
    assertNotContains(response, "data-image-poll")
