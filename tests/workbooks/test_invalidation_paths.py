"""One path keeps the gallery's cache and what depends on workbooks current: the services, which
the admin calls too. No receiver watches the model signals of Workbook, Featured or Tag, and each
app connects its receivers in one place, its receivers.py."""

import ast
from pathlib import Path

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.test import Client

from accounts.models import User
from tests.factories import FeaturedFactory, UserFactory, WorkbookFactory
from workbooks import selectors, services
from workbooks.models import Featured, Tag, Workbook

ROOT = Path(__file__).resolve().parent.parent.parent
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"
MODEL_SIGNALS = {
    "pre_save": pre_save,
    "post_save": post_save,
    "pre_delete": pre_delete,
    "post_delete": post_delete,
    "m2m_changed": m2m_changed,
}

# Receivers of these models' own signals that stay, with why: {(signal, model, receiver): why}.
MODEL_RECEIVERS_ALLOWED = {
    ("post_delete", "Workbook", "workbooks.images.forget_thumbnails"): (
        "files, not the gallery: a workbook's images go however its row goes, a cascade from its "
        "author's deleted account included"
    ),
    ("post_save", "User", "accounts.api.authentication.member_row_written"): (
        "a bearer's kept member is retired by any write of their row (a sign-in's last_login, "
        "the shell), or a deactivated member would be let in"
    ),
    ("post_delete", "User", "accounts.api.authentication.member_row_written"): (
        "a deleted member's kept copy is retired at once"
    ),
    ("post_delete", "User", "accounts.images.forget_avatar"): (
        "files, as a workbook's thumbnails: a member's avatar images go however their row goes"
    ),
}

# Apps whose `.connect(` calls are read; sigma_playground's observability is infrastructure (it
# times queries and tasks) and connects its own.
APPS = ("sigma_playground", "idempotency", "search", "media", "accounts", "workbooks", "social")
# `.connect(` calls outside a receivers.py that are no receivers of the site's events, with why:
# {(path, the object connected): why}.
CONNECTS_ALLOWED = {
    ("media/clamd.py", "sock"): "a socket to the virus scanner, not a signal",
    ("social/tasks.py", "worker_process_init"): (
        "a Celery worker process's own start-up (it loads the URLconf), decorating what it runs"
    ),
}


def _receivers(signal, sender) -> list[str]:
    sync, asynchronous = signal._live_receivers(sender)
    return [f"{each.__module__}.{each.__qualname__}" for each in [*sync, *asynchronous]]


def test_no_receiver_keeps_the_gallery_or_a_business_rule_on_model_signals():
    senders = {
        "Workbook": Workbook,
        "Featured": Featured,
        "Tag": Tag,
        "Workbook_tags": Workbook.tags.through,
        "User": User,
    }
    found = {
        (signal_name, model_name, receiver)
        for signal_name, signal in MODEL_SIGNALS.items()
        for model_name, sender in senders.items()
        for receiver in _receivers(signal, sender)
    }

    assert found <= set(MODEL_RECEIVERS_ALLOWED), sorted(found - set(MODEL_RECEIVERS_ALLOWED))


def _connects(path: Path) -> list[tuple[str, int]]:
    """The objects whose `.connect(...)` this module calls, with their lines."""
    calls = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "connect"
        ):
            calls.append((ast.unparse(node.func.value), node.lineno))
    return calls


def test_each_app_connects_its_receivers_only_in_its_receivers_module():
    stray = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if (
                path.name == "receivers.py"
                or "/migrations/" in relative
                or relative.startswith("sigma_playground/observability/")
            ):
                continue
            stray += [
                f"{relative}:{line} {target}.connect("
                for target, line in _connects(path)
                if target != "receivers"  # an AppConfig.ready() calling receivers.connect()
                and (relative, target.split(".")[-1]) not in CONNECTS_ALLOWED
            ]

    assert stray == []


# --- The admin writes through the services -------------------------------------------------------


def home() -> str:
    """The home page as a visitor sees it (served from the cache when it holds a copy)."""
    response = Client().get("/", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200
    return response.content.decode()


def bulk_delete(admin_client, url: str, *rows) -> None:
    response = admin_client.post(
        url,
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [r.pk for r in rows], "post": "yes"},
    )
    assert response.status_code == 302


@pytest.mark.django_db
def test_workbooks_deleted_in_bulk_in_the_admin_leave_the_cached_pages_and_the_tag_counts(
    admin_client,
):
    author = UserFactory()
    gone = WorkbookFactory(author=author, title="Revenue by region", tags=["finance"])
    kept = WorkbookFactory(author=author, title="Churn by cohort", tags=["finance", "saas"])
    assert "Revenue by region" in home()

    bulk_delete(admin_client, "/admin/workbooks/workbook/", gone)

    assert "Revenue by region" not in home()
    assert "Churn by cohort" in home()
    counts = {tag.name: tag.workbook_count for tag in selectors.tags_with_counts()}
    assert counts == {"finance": 1, "saas": 1}
    assert Workbook.objects.filter(pk=kept.pk).exists()


@pytest.mark.django_db
def test_workbooks_deleted_together_recount_their_tags_once(monkeypatch):
    author = UserFactory()
    gone = [WorkbookFactory(author=author, tags=["finance"]) for _ in range(3)]
    recounts = []
    recount = services.refresh_tag_counts
    monkeypatch.setattr(
        services, "refresh_tag_counts", lambda ids=None: recounts.append(ids) or recount(ids)
    )

    services.delete_workbooks(Workbook.objects.filter(pk__in=[w.pk for w in gone]))

    assert not Workbook.objects.exists()
    assert len(recounts) == 1
    assert not selectors.tags_with_counts().exists()


@pytest.mark.django_db
def test_a_workbook_deleted_in_the_admin_leaves_the_tag_counts(admin_client):
    workbook = WorkbookFactory(title="Revenue by region", tags=["finance"])
    assert "Revenue by region" in home()

    response = admin_client.post(
        f"/admin/workbooks/workbook/{workbook.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302
    assert "Revenue by region" not in home()
    assert not selectors.tags_with_counts().exists()


@pytest.mark.django_db
def test_featured_entries_deleted_in_bulk_in_the_admin_leave_the_cached_home_page(admin_client):
    featuring = FeaturedFactory(workbook=WorkbookFactory(title="Revenue by region"))
    assert "Workbook of the day" in home()

    bulk_delete(admin_client, "/admin/workbooks/featured/", featuring)

    assert not Featured.objects.exists()
    assert "Workbook of the day" not in home()


@pytest.mark.django_db
def test_a_featured_entry_added_in_the_admin_shows_on_the_cached_home_page(admin_client):
    workbook = WorkbookFactory(title="Revenue by region")
    assert "Workbook of the day" not in home()

    response = admin_client.post(
        "/admin/workbooks/featured/add/",
        {"workbook": workbook.pk, "position": 1, "starts_at_0": "2020-01-01",
         "starts_at_1": "00:00:00", "ends_at_0": "", "ends_at_1": "", "note": ""},
    )  # fmt: skip

    assert response.status_code == 302
    assert "Workbook of the day" in home()


def explore() -> str:
    """The explore page as a visitor sees it (its tag list kept in the cache)."""
    response = Client().get("/explore/", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_a_tag_renamed_or_deleted_in_the_admin_leaves_the_cached_pages(admin_client):
    WorkbookFactory(title="Revenue by region", tags=["finanse"])
    tag = Tag.objects.get(name="finanse")
    assert "finanse" in explore()

    response = admin_client.post(
        f"/admin/workbooks/tag/{tag.pk}/change/", {"name": "finance", "slug": "finance"}
    )
    assert response.status_code == 302
    assert "finanse" not in explore()
    assert "finance" in explore()

    bulk_delete(admin_client, "/admin/workbooks/tag/", tag)
    assert ">finance<" not in explore()


@pytest.mark.django_db
def test_a_featured_entry_ended_in_the_workbooks_admin_page_leaves_the_cached_home_page(
    admin_client,
):
    featuring = FeaturedFactory(workbook=WorkbookFactory(title="Revenue by region"))
    workbook = featuring.workbook
    assert "Workbook of the day" in home()

    prefix = "featurings"
    data = {
        "title": workbook.title, "author": workbook.author_id, "status": workbook.status,
        "listed": "on", "embed_url": workbook.embed_url, "tags": [],
        "description": workbook.description, "published_at_0": "2020-01-01",
        "published_at_1": "00:00:00",
        f"{prefix}-TOTAL_FORMS": 1, f"{prefix}-INITIAL_FORMS": 1,
        f"{prefix}-MIN_NUM_FORMS": 0, f"{prefix}-MAX_NUM_FORMS": 1000,
        f"{prefix}-0-id": featuring.pk, f"{prefix}-0-workbook": workbook.pk,
        f"{prefix}-0-position": featuring.position,
        f"{prefix}-0-starts_at_0": "2020-01-01", f"{prefix}-0-starts_at_1": "00:00:00",
        f"{prefix}-0-ends_at_0": "2020-01-02", f"{prefix}-0-ends_at_1": "00:00:00",
        f"{prefix}-0-note": "",
    }  # fmt: skip
    response = admin_client.post(f"/admin/workbooks/workbook/{workbook.pk}/change/", data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert "Workbook of the day" not in home()
