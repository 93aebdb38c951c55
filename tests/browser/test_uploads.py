"""Picture uploads in a real browser: a member's avatar on the settings page, a workbook's
thumbnail on its edit page, and the files the browser or the server refuses.

On the project's ASGI application in a process of its own (`asgi_live_server`): the upload is
checked and processed there (Celery runs eagerly, on commit, inside the request), its variants
written to the server's own media folder (a temporary one, never the project's var/) and served
from /media/ through the site's middleware, as `make run` serves them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image as PILImage
from PIL import ImageDraw
from playwright.sync_api import Locator, Page, expect

from accounts.models import User
from media.models import Image
from tests.browser.helpers import sign_in
from tests.factories import UserFactory, WorkbookFactory
from workbooks.models import Workbook

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HASH = r"[0-9a-f]{40}"
AVATAR_SRC = re.compile(rf"/media/avatars/{HASH}-thumb\.jpg$")
AVATAR_CURRENT_SRC = re.compile(rf"/media/avatars/{HASH}-thumb\.(webp|jpg)$")


def make_jpeg(path: Path, size: tuple[int, int] = (640, 480)) -> Path:
    """A real photo-like JPEG: a gradient with a few shapes on it."""
    width, height = size
    picture = PILImage.new("RGB", size)
    draw = ImageDraw.Draw(picture)
    for y in range(height):
        draw.line([(0, y), (width, y)], fill=(40, 80 + y * 120 // height, 200 - y * 150 // height))
    draw.ellipse((width // 8, height // 8, width // 2, height // 2), fill=(230, 180, 20))
    draw.rectangle((width // 2, height // 2, width - 40, height - 30), fill=(200, 30, 60))
    draw.polygon([(width // 2, 20), (width - 20, height // 3), (width // 3, height // 3)], "white")
    picture.save(path, "JPEG", quality=90)
    return path


def wait_until_loaded(img: Locator) -> None:
    """The picture was fetched and decoded: a broken image is `complete` too, but has no width."""
    img.scroll_into_view_if_needed()
    img.page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=img.element_handle()
    )


def current_src(img: Locator) -> str:
    return img.evaluate("img => img.currentSrc")


def srcset_candidates(srcset: str) -> list[tuple[str, str]]:
    return [tuple(candidate.split()) for candidate in srcset.split(", ")]


def assert_served_as_image(page: Page, url: str, content_type: str) -> None:
    response = page.request.get(url)
    assert response.status == 200, url
    assert response.headers["content-type"] == content_type, url
    assert response.headers["x-content-type-options"] == "nosniff", url
    assert len(response.body()) > 0


def test_a_member_uploads_an_avatar_on_the_settings_page_and_sees_it_in_the_navigation_bar(
    new_asgi_page, asgi_live_server, tmp_path, artifacts_dir
):
    base = asgi_live_server.url
    UserFactory(username="ada", full_name="Ada Lovelace")
    photo = make_jpeg(tmp_path / "ada.jpg")
    page = new_asgi_page()
    sign_in(page, base, "ada")
    menu = page.get_by_test_id("user-menu")
    expect(menu.locator("span.avatar")).to_have_text("A")
    expect(menu.locator("img")).to_have_count(0)

    page.goto(f"{base}/settings/")
    picture_input = page.get_by_label("Choose a picture")
    expect(picture_input).to_have_attribute("accept", re.compile(r"image/jpeg"))
    preview = page.locator("img[data-upload-preview]")
    expect(preview).to_be_hidden()

    picture_input.set_input_files(photo)

    expect(preview).to_be_visible()
    expect(preview).to_have_attribute("src", re.compile(r"^blob:"))
    wait_until_loaded(preview)
    expect(page.locator("[data-upload-error]")).to_be_hidden()

    with page.expect_response(
        lambda response: (
            response.url == f"{base}/settings/avatar/" and response.request.method == "POST"
        )
    ) as posted:
        page.get_by_role("button", name="Upload").click()
    assert posted.value.status == 302
    assert "multipart/form-data" in posted.value.request.headers["content-type"]
    expect(page).to_have_url(f"{base}/settings/")
    expect(page.locator(".messages")).to_have_text("Your new picture is in place.")

    # The navigation bar shows the picture, loaded, in place of the initials.
    avatar = menu.locator("picture > img.avatar")
    expect(avatar).to_have_count(1)
    expect(avatar).to_have_attribute("src", AVATAR_SRC)
    expect(menu.locator("picture > source[type='image/webp']")).to_have_attribute(
        "srcset", re.compile(rf"/media/avatars/{HASH}-thumb\.webp 150w$")
    )
    expect(menu.locator("span.avatar")).to_have_count(0)
    wait_until_loaded(avatar)
    assert AVATAR_CURRENT_SRC.search(current_src(avatar))

    # So does the settings page, as the picture in use.
    current = page.get_by_test_id("current-picture").locator("img.avatar.avatar--large")
    expect(current).to_have_attribute("src", AVATAR_SRC)
    wait_until_loaded(current)
    expect(page.get_by_test_id("current-picture").locator("span.avatar")).to_have_count(0)
    expect(page.get_by_role("button", name="Remove picture")).to_be_visible()

    # Served as images, never sniffed as anything else.
    src = avatar.get_attribute("src")
    assert_served_as_image(page, f"{base}{src}", "image/jpeg")
    assert_served_as_image(page, f"{base}{src.removesuffix('.jpg')}.webp", "image/webp")

    # Made by the server, in the server's media folder (not the project's).
    user = User.objects.get(username="ada")
    image = Image.objects.get(owner=user, kind=Image.Kind.AVATAR)
    assert image.status == Image.Status.READY
    assert user.avatar["key"] == f"avatars/{image.content_hash}"
    assert src == f"/media/avatars/{image.content_hash}-thumb.jpg"
    stored = asgi_live_server.media_root / "avatars"
    assert (stored / f"{image.content_hash}-thumb.jpg").is_file()
    assert (stored / f"{image.content_hash}-thumb.webp").is_file()
    original = asgi_live_server.media_root.parent / "uploads" / "originals" / f"{image.id.hex}.jpg"
    assert not original.exists()  # kept only until its variants were made
    assert not (
        PROJECT_ROOT / "var" / "media" / "avatars" / f"{image.content_hash}-thumb.jpg"
    ).exists()

    screenshot = artifacts_dir / "avatar-upload.png"
    screenshot.unlink(missing_ok=True)
    page.screenshot(path=screenshot, full_page=True)
    assert screenshot.stat().st_size > 0


def test_a_file_over_the_limit_is_refused_in_the_browser_before_it_is_sent(
    new_asgi_page, asgi_live_server, tmp_path
):
    base = asgi_live_server.url
    UserFactory(username="bob", full_name="Bob Big")
    page = new_asgi_page()
    sign_in(page, base, "bob")
    page.goto(f"{base}/settings/")
    picture_input = page.get_by_label("Choose a picture")
    max_bytes = int(picture_input.get_attribute("data-max-bytes"))
    assert max_bytes == 10 * 1024 * 1024
    too_big = tmp_path / "huge.jpg"
    with too_big.open("wb") as file:
        file.truncate(max_bytes + 1)  # sparse: nothing written but its size
    sent: list[str] = []
    page.on("request", lambda request: sent.append(f"{request.method} {request.url}"))

    picture_input.set_input_files(too_big)

    error = page.locator("[data-upload-error]")
    expect(error).to_have_text("The file is larger than 10 MB. Choose a smaller picture.")
    expect(error).to_have_attribute("role", "alert")
    expect(page.locator(".field", has=picture_input)).to_have_class(
        re.compile(r"(^|\s)field--invalid(\s|$)")
    )
    expect(picture_input).to_have_value("")
    assert picture_input.evaluate("input => input.files.length") == 0
    expect(page.locator("img[data-upload-preview]")).to_be_hidden()
    assert [request for request in sent if "/settings/avatar/" in request] == []
    assert Image.objects.count() == 0

    # A picture of an acceptable size then clears the message.
    picture_input.set_input_files(make_jpeg(tmp_path / "small.jpg", (160, 120)))
    expect(error).to_be_hidden()
    expect(page.locator("img[data-upload-preview]")).to_be_visible()


def test_a_web_page_named_like_a_picture_is_refused_with_the_reason_by_the_field(
    new_asgi_page, asgi_live_server, tmp_path
):
    base = asgi_live_server.url
    UserFactory(username="eve", full_name="Eve Sneaky")
    disguised = tmp_path / "picture.png"
    disguised.write_text(
        "<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
    )
    page = new_asgi_page()
    sign_in(page, base, "eve")
    page.goto(f"{base}/settings/")
    picture_input = page.get_by_label("Choose a picture")
    picture_input.set_input_files(disguised)  # its preview is a broken image: fine

    with page.expect_response(
        lambda response: (
            response.url == f"{base}/settings/avatar/" and response.request.method == "POST"
        )
    ) as posted:
        page.get_by_role("button", name="Upload").click()
    assert posted.value.status == 415

    picture_input = page.get_by_label("Choose a picture")
    field = page.locator(".field", has=picture_input)
    expect(field.locator(".field__error")).to_have_text(
        "This is not a picture we can use. Upload a JPEG, PNG, WebP or GIF image."
    )
    expect(field).to_have_class(re.compile(r"(^|\s)field--invalid(\s|$)"))
    expect(page.locator(".field__error")).to_have_count(1)
    menu = page.get_by_test_id("user-menu")
    expect(menu.locator("span.avatar")).to_have_text("E")
    expect(menu.locator("img")).to_have_count(0)
    expect(page.get_by_test_id("current-picture").locator("img")).to_have_count(0)
    assert Image.objects.count() == 0
    assert User.objects.get(username="eve").avatar is None
    uploads = asgi_live_server.media_root.parent / "uploads" / "originals"
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_the_author_uploads_a_thumbnail_that_the_workbooks_card_on_explore_then_shows(
    new_asgi_page, asgi_live_server, tmp_path
):
    base = asgi_live_server.url
    author = UserFactory(username="tess", full_name="Tess Thumb")
    workbook = WorkbookFactory(author=author, title="Pipeline by stage")
    assert workbook.status == Workbook.Status.PUBLISHED
    photo = make_jpeg(tmp_path / "pipeline.jpg", (1280, 720))
    page = new_asgi_page()
    sign_in(page, base, "tess")

    page.goto(f"{base}/w/{workbook.slug}/edit/")
    current = page.get_by_test_id("current-picture")
    expect(current.locator(".thumb--placeholder")).to_be_visible()
    page.get_by_label("Choose a picture").set_input_files(photo)
    expect(page.locator("img[data-upload-preview]")).to_have_attribute("src", re.compile(r"^blob:"))
    page.get_by_role("button", name="Upload").click()

    expect(page).to_have_url(f"{base}/w/{workbook.slug}/edit/")
    expect(page.locator(".messages")).to_have_text("Your new thumbnail is in place.")
    expect(current.locator("img.thumb")).to_have_count(1)

    page.goto(f"{base}/explore/")
    card = page.locator(".wb-card", has_text="Pipeline by stage")
    thumb = card.locator("picture > img.thumb")
    expect(thumb).to_have_count(1)
    expect(card.locator(".thumb--placeholder")).to_have_count(0)
    wait_until_loaded(thumb)

    workbook.refresh_from_db()
    key = workbook.thumbnail["key"]
    assert key.startswith("thumbnails/")
    fallback = srcset_candidates(thumb.get_attribute("srcset"))
    assert fallback == [
        (f"/media/{key}-small.jpg", "300w"),
        (f"/media/{key}-medium.jpg", "600w"),
    ]
    webp = srcset_candidates(card.locator("picture > source").get_attribute("srcset"))
    assert webp == [
        (f"/media/{key}-small.webp", "300w"),
        (f"/media/{key}-medium.webp", "600w"),
    ]
    assert thumb.get_attribute("src") == f"/media/{key}-small.jpg"
    assert re.search(rf"/media/{key}-(small|medium)\.webp$", current_src(thumb))
    stored = asgi_live_server.media_root
    for variant, size in (("small", (300, 169)), ("medium", (600, 338))):
        for ext in ("webp", "jpg"):
            with PILImage.open(stored / f"{key}-{variant}.{ext}") as variant_file:
                assert variant_file.size == size
