"""Taking your data with you: Settings' "Export my data" and POST /api/v1/me/export/ make a ZIP on a
worker (data.json with every section, pictures/ with the member's pictures), stored privately and
fetched through a signed, expiring link that only its owner may use; one export an hour."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core import mail, signing
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image as PILImage

from accounts import exports, services
from accounts.models import DataExport
from media.storage import public_storage, upload_storage
from sigma_playground.models import Moderation
from social import services as social
from social.models import CollectionItem, Notification
from tests.factories import CollectionFactory, UserFactory, WorkbookFactory
from workbooks.models import Workbook

EXPORT_URL = "/settings/export/"
API_EXPORT_URL = "/api/v1/me/export/"


def make_history(member, others, n: int = 1, upload=None) -> None:
    """`n` of everything the export holds, for `member`, with `others` to follow and be followed."""
    author = others[0]
    for i in range(n):
        mine = WorkbookFactory(author=member, title=f"Mine {i}", status="published")
        WorkbookFactory(author=member, title=f"Draft {i}", status="draft")
        theirs = WorkbookFactory(author=author, title=f"Theirs {i}", status="published")
        if upload is not None:
            upload(member, kind="thumbnail", holder=mine.pk)
        social.add_comment(member, theirs, f"Nice one {i}")
        social.favorite(member, theirs)
        social.add_comment(author, mine, f"Thanks {i}")
        CollectionFactory(owner=member, title=f"Picks {i}")
    for other in others[1 : n + 1]:
        social.follow(member, other)
        social.follow(other, member)


def make_export(client, member, django_capture_on_commit_callbacks) -> DataExport:
    client.force_login(member)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(EXPORT_URL)
    assert response.status_code == 302
    return DataExport.objects.get(user=member)


def read_zip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def link_in(message) -> str:
    return re.search(r"https?://\S+/settings/export/\S+/", message.body).group(0)


def test_the_zip_holds_every_section_and_the_members_pictures(
    client, user, upload, django_capture_on_commit_callbacks
):
    others = UserFactory.create_batch(2)
    upload(user)  # the avatar
    make_history(user, others, upload=upload)
    export = make_export(client, user, django_capture_on_commit_callbacks)

    [message] = mail.outbox
    assert message.to == [user.email]
    assert "export" in message.subject.lower()
    link = link_in(message)
    assert link in message.alternatives[0][0]  # the HTML part too
    response = client.get(link.removeprefix(settings.SITE_URL))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert 'attachment; filename="sigma-playground-owner.zip"' in response["Content-Disposition"]

    archive = read_zip(response)
    data = json.loads(archive.read("data.json"))
    assert list(data)[:2] == ["exported_at", "profile"]
    assert data["profile"]["username"] == "owner"
    assert data["profile"]["email"] == user.email
    assert {w["title"] for w in data["workbooks"]} == {"Mine 0", "Draft 0"}
    assert [c["title"] for c in data["collections"]] == ["Picks 0"]
    assert [c["body"] for c in data["comments"]] == ["Nice one 0"]
    assert [f["workbook"]["title"] for f in data["favorites"]] == ["Theirs 0"]
    assert [f["username"] for f in data["follows"]["following"]] == [others[1].username]
    assert [f["username"] for f in data["follows"]["followers"]] == [others[1].username]
    assert {(n["verb"], n["actor"]) for n in data["notifications"]} == {
        ("commented", others[0].username),
        ("followed", others[1].username),
    }

    mine = user.workbooks.get(title="Mine 0")
    names = set(archive.namelist())
    assert {"pictures/avatar.jpg", f"pictures/workbooks/{mine.slug}.jpg"} <= names
    user.refresh_from_db()
    mine.refresh_from_db()
    for picture, name in [(user.picture, "avatar"), (mine.picture, f"workbooks/{mine.slug}")]:
        stored, _ = exports.kept_original(picture)
        with public_storage().open(stored, "rb") as kept:
            assert archive.read(f"pictures/{name}.jpg") == kept.read()
        opened = PILImage.open(io.BytesIO(archive.read(f"pictures/{name}.jpg")))
        assert max(opened.size) == max(max(size) for size in picture.sizes.values())
    assert export.expires_at is not None


def test_the_zip_is_stored_privately_under_an_unguessable_name(
    client, user, django_capture_on_commit_callbacks
):
    export = make_export(client, user, django_capture_on_commit_callbacks)
    folder, token, name = export.file.split("/")
    assert folder == "exports"
    assert len(token) >= 40
    assert name == "sigma-playground-owner.zip"
    assert upload_storage().exists(export.file)
    # Never under the public media folder, which the web server serves.
    assert not list(Path(settings.MEDIA_ROOT).rglob("*.zip"))


def test_settings_says_it_is_being_prepared_then_shows_the_link(
    client, user, django_capture_on_commit_callbacks
):
    client.force_login(user)
    page = client.get("/settings/").content.decode()
    assert "Your data" in page
    assert "Export my data" in page
    assert "being prepared" not in page

    pending = DataExport.objects.create(user=user)
    assert "Your export is being prepared" in client.get("/settings/").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        services.build_export(str(pending.pk))
    pending.refresh_from_db()
    page = client.get("/settings/").content.decode()
    assert "Your export is being prepared" not in page
    assert services.export_link(pending) in page

    DataExport.objects.filter(pk=pending.pk).update(expires_at=timezone.now())
    assert services.export_link(pending) not in client.get("/settings/").content.decode()


def test_the_link_is_refused_to_another_member_forged_or_expired(
    client, user, other_user, django_capture_on_commit_callbacks, monkeypatch
):
    export = make_export(client, user, django_capture_on_commit_callbacks)
    link = services.export_link(export)

    client.force_login(other_user)
    assert client.get(link).status_code == 404

    client.force_login(user)
    assert client.get(link).status_code == 200
    forged = signing.dumps(str(export.pk), salt="something else")
    assert client.get(reverse("accounts:export-download", args=[forged])).status_code == 404
    assert client.get(link[:-3] + "xyz/").status_code == 404

    # The signature outlives nothing: EXPORT_LINK_HOURS later it has expired.
    later = time.time() + settings.EXPORT_LINK_HOURS * 3600 + 5
    monkeypatch.setattr(signing.time, "time", lambda: later)
    assert client.get(link).status_code == 404
    monkeypatch.undo()

    # And the export itself expires (removed by the cleanup from then on).
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now())
    assert client.get(link).status_code == 404

    client.logout()
    response = client.get(link)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_api_starts_an_export_with_202_and_refuses_another_within_the_hour(
    auth_client, client, user, django_capture_on_commit_callbacks
):
    make_history(user, UserFactory.create_batch(2))
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(API_EXPORT_URL)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "preparing"
    assert DataExport.objects.get(pk=body["id"]).is_ready
    [message] = mail.outbox
    assert message.to == [user.email]
    # The emailed link opens for the member on the site, as the page's export does.
    client.force_login(user)
    download = client.get(link_in(message).removeprefix(settings.SITE_URL))
    assert download.status_code == 200
    data = json.loads(read_zip(download).read("data.json"))
    assert data["profile"]["username"] == "owner"
    assert [c["body"] for c in data["comments"]] == ["Nice one 0"]
    assert [f["workbook"]["title"] for f in data["favorites"]] == ["Theirs 0"]

    again = auth_client.post(API_EXPORT_URL)
    assert again.status_code == 429
    assert again.json()["code"] == "throttled"
    assert 3500 < int(again["Retry-After"]) <= 3600
    assert DataExport.objects.filter(user=user).count() == 1

    DataExport.objects.filter(user=user).update(created_at=timezone.now() - timedelta(minutes=61))
    with django_capture_on_commit_callbacks(execute=True):
        assert auth_client.post(API_EXPORT_URL).status_code == 202
    # The newer export replaces the older one: its file and row are gone.
    assert DataExport.objects.filter(user=user).count() == 1


def test_the_page_refuses_a_second_export_within_the_hour_with_429(
    client, user, django_capture_on_commit_callbacks
):
    make_export(client, user, django_capture_on_commit_callbacks)
    response = client.post(EXPORT_URL)
    assert response.status_code == 429
    assert "Retry-After" in response


def test_expired_exports_are_removed_with_their_files(
    client, user, django_capture_on_commit_callbacks
):
    export = make_export(client, user, django_capture_on_commit_callbacks)
    stuck = DataExport.objects.create(user=UserFactory())
    DataExport.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - timedelta(hours=7))
    assert services.remove_expired_exports() == 1  # the unfinished one only
    assert upload_storage().exists(export.file)

    with django_capture_on_commit_callbacks(execute=True):
        removed = services.remove_expired_exports(
            now=timezone.now() + timedelta(hours=settings.EXPORT_LINK_HOURS, seconds=1)
        )
    assert removed == 1
    assert not DataExport.objects.exists()
    assert not upload_storage().exists(export.file)


def test_the_export_names_only_workbooks_the_member_may_still_read(user):
    """A workbook of someone else that was unpublished or hidden since, then renamed, is only an
    id in the export: its new title and slug are not the member's to read."""
    author = UserFactory()
    unpublished = WorkbookFactory(author=author, title="Open plan", status="published")
    hidden = WorkbookFactory(author=author, title="Open figures", status="published")
    still_public = WorkbookFactory(author=author, title="Still public", status="published")
    own_draft = WorkbookFactory(author=user, title="My draft", status="draft")
    for workbook in (unpublished, hidden, still_public):
        social.add_comment(user, workbook, f"On {workbook.title}")
        social.favorite(user, workbook)
    picks = CollectionFactory(owner=user, title="Picks")
    for position, workbook in enumerate((unpublished, hidden, still_public, own_draft)):
        CollectionItem.objects.create(collection=picks, workbook=workbook, position=position)
    Notification.objects.create(recipient=user, actor=author, verb="featured", workbook=unpublished)
    Workbook.objects.filter(pk=unpublished.pk).update(
        status="draft", title="Secret merger", slug="secret-merger"
    )
    Workbook.objects.filter(pk=hidden.pk).update(
        moderation=Moderation.HIDDEN, title="Secret layoffs", slug="secret-layoffs"
    )

    data = exports.data(user)

    text = json.dumps(data, cls=DjangoJSONEncoder)
    assert "Secret" not in text
    assert "secret" not in text
    gone = [
        {"id": unpublished.pk, "unavailable": True},
        {"id": hidden.pk, "unavailable": True},
    ]
    shown = {"id": still_public.pk, "slug": still_public.slug, "title": "Still public"}
    assert [c["workbook"] for c in data["comments"]] == [*gone, shown]
    assert [f["workbook"] for f in data["favorites"]] == [*gone, shown]
    assert [
        {k: v for k, v in item.items() if k != "added_at"}
        for item in data["collections"][0]["workbooks"]
    ] == [
        *gone,
        shown,
        {"id": own_draft.pk, "slug": own_draft.slug, "title": "My draft"},
    ]
    assert [n["workbook"] for n in data["notifications"] if n["verb"] == "featured"] == [gone[0]]


def test_the_export_leaves_out_deactivated_followers_and_followees(user):
    friend, gone_quiet = UserFactory(), UserFactory()
    for other in (friend, gone_quiet):
        social.follow(user, other)
        social.follow(other, user)
    services.set_active(gone_quiet, False)

    follows = exports.data(user)["follows"]

    assert [f["username"] for f in follows["following"]] == [friend.username]
    assert [f["username"] for f in follows["followers"]] == [friend.username]


def _queries(member) -> int:
    with CaptureQueriesContext(connection) as captured:
        exports.data(member)
        exports.pictures(member)
    return len(captured)


def test_the_export_reads_the_same_number_of_queries_however_much_the_member_made(db):
    small, large = UserFactory(), UserFactory()
    others = UserFactory.create_batch(6)
    make_history(small, others, n=1)
    make_history(large, others, n=5)
    for member in (small, large):
        assert Notification.objects.filter(recipient=member).exists()
    assert _queries(small) == _queries(large)
    # Workbooks and their tags, thumbnails, collections and their items, comments, favorites,
    # following, followers, notifications.
    assert _queries(large) == 10
