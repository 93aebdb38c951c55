"""The collection pages: a member's collections, one collection, adding a workbook to one, and the
public collections of a workbook and of the home page.

Every change is a POST form that redirects back with a message; static/js/collections.js reorders
through the API (/api/v1/collections/{id}/order/) when JavaScript runs. These pages show the
viewer's own state (their collections, the owner's controls), so none is kept for sharing; the
workbook and home pages, which are, load their collection lists from here after the page.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors as accounts_selectors
from accounts.http import AuthenticatedHttpRequest
from sigma_playground import paging
from sigma_playground.forms import render_form
from sigma_playground.http import next_url
from workbooks import selectors as workbook_selectors
from workbooks.models import Workbook

from . import collection_selectors as selectors
from . import collection_services as services
from .collection_forms import CollectionForm
from .forms import parse_ids
from .models import Collection, CollectionItem

PAGE_SIZE = 24


def _own(request: AuthenticatedHttpRequest, username: str, slug: str) -> Collection:
    """One of the viewer's collections; anyone else's (or none) is a 404 here."""
    try:
        return (
            Collection.objects.editable_by(request.user)
            .select_related("owner")
            .get(owner__username__iexact=username, slug=slug)
        )
    except Collection.DoesNotExist:
        raise Http404("No such collection.") from None


def _workbook(request: HttpRequest, slug: str) -> Workbook:
    try:
        return workbook_selectors.detail(slug, request.user, tags=False)
    except Workbook.DoesNotExist:
        raise Http404("No such workbook.") from None


def _workbook_id(request: HttpRequest) -> int:
    ids = parse_ids([request.POST.get("workbook", "")])
    if not ids:
        raise Http404("No such workbook.")
    return ids[0]


# --- Lists -----------------------------------------------------------------------------------------


@require_GET
def member_collections(request: HttpRequest, username: str) -> HttpResponse:
    """A member's public collections (all of them, for the member): the profile's tab."""
    person = accounts_selectors.active_user_or_404(username)
    if person.username != username:
        return redirect("social:collections", username=person.username, permanent=True)
    page = paging.html_page(request, selectors.of_member(request.user, person), PAGE_SIZE)
    context = {"person": person, "page": page, "form": CollectionForm()}
    return render(request, "social/collections/list.html", context)


def _fragment(request: HttpRequest) -> bool:
    """`?fragment=1`: the list alone, for collections.js to put in place on the page that holds
    it, without the site's frame (base template, navigation, bell) that a full page renders."""
    return request.GET.get("fragment") == "1"


@require_GET
def featured(request: HttpRequest) -> HttpResponse:
    """The collections curators feature now (the home page loads its section from here)."""
    context = {"collections": selectors.featured(request.user)}
    if _fragment(request):
        return render(request, "social/collections/inc/featured_list.html", context)
    return render(request, "social/collections/featured.html", context)


@require_GET
def workbook_collections(request: HttpRequest, slug: str) -> HttpResponse:
    """The public collections a workbook is in (the workbook page loads its list from here)."""
    workbook = _workbook(request, slug)
    context = {"workbook": workbook, "collections": selectors.public_with(workbook)}
    if _fragment(request):
        return render(request, "social/collections/inc/of_workbook_list.html", context)
    return render(request, "social/collections/of_workbook.html", context)


# --- One collection --------------------------------------------------------------------------------


@require_GET
def collection(request: HttpRequest, username: str, slug: str) -> HttpResponse:
    try:
        found = selectors.page(request.user, username, slug)
    except Collection.DoesNotExist:
        raise Http404("No such collection.") from None
    if found.owner.username != username:
        return redirect(found.get_absolute_url(), permanent=True)
    page = paging.html_page(request, selectors.items_query(found, request.user), PAGE_SIZE)
    first = not page.has_previous
    context = {
        "collection": found,
        "page": page,
        "items": page.items,
        # The first page's workbooks begin the cover: only later pages need their own query.
        "cover": (
            page.items[: selectors.COVER_SIZE] if first else selectors.cover_of(found, request.user)
        ),
        "is_owner": found.owner_id == request.user.pk,
        # Dragging sends the order of the workbooks shown, which the API puts first: right only
        # on the first page. Later pages keep the Up and Down forms.
        "can_drag": first and found.owner_id == request.user.pk,
        "here": request.get_full_path(),
    }
    return render(request, "social/collections/detail.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def collection_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = CollectionForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        made = services.create(request.user, **form.cleaned_data)
        messages.success(request, f"“{made.title}” is made. Add workbooks from their pages.")
        return redirect(made.get_absolute_url())
    return render_form(request, "social/collections/form.html", {"form": form})


@require_http_methods(["GET", "POST"])
@login_required
def collection_edit(request: AuthenticatedHttpRequest, username: str, slug: str) -> HttpResponse:
    own = _own(request, username, slug)
    initial = {"title": own.title, "description": own.description, "visibility": own.visibility}
    form = CollectionForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_valid():
        services.update(request.user, own, **form.cleaned_data)
        messages.success(request, "The collection is saved.")
        return redirect(own.get_absolute_url())
    return render_form(request, "social/collections/form.html", {"form": form, "collection": own})


@require_POST
@login_required
def collection_delete(request: AuthenticatedHttpRequest, username: str, slug: str) -> HttpResponse:
    own = _own(request, username, slug)
    services.delete(request.user, own)
    messages.success(request, f"“{own.title}” is deleted.")
    return redirect("social:collections", username=request.user.username)


@require_POST
@login_required
def collection_move(request: AuthenticatedHttpRequest, username: str, slug: str) -> HttpResponse:
    """POST `workbook` and `direction` (up or down): one place, among the workbooks shown."""
    own = _own(request, username, slug)
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if offset is None:
        raise Http404("Move up or down.")
    shown = [item.workbook_id for item in selectors.items_of(own, request.user)]
    workbook_id = _workbook_id(request)
    services.move(request.user, own, workbook_id, offset, shown)
    return redirect(f"{next_url(request, own.get_absolute_url())}#item-{workbook_id}")


@require_POST
@login_required
def collection_remove(request: AuthenticatedHttpRequest, username: str, slug: str) -> HttpResponse:
    own = _own(request, username, slug)
    services.remove(request.user, own, _workbook_id(request))
    messages.success(request, "The workbook is out of the collection.")
    return redirect(next_url(request, own.get_absolute_url()))


# --- Adding a workbook -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def collect(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """The viewer's collections, each with a button to add this workbook or take it out, and a form
    to make a new collection with it. POST `collection` and `action` (add or remove), or `title`
    (and `visibility`) for a new one."""
    workbook = _workbook(request, slug)
    back = next_url(request, reverse("social:collect", args=[workbook.slug]))
    form = CollectionForm()
    if request.method == "POST":
        if "title" in request.POST:
            form = CollectionForm(request.POST)
            if form.is_valid():
                made = services.create_with(request.user, workbook, **form.cleaned_data)
                messages.success(request, f"“{workbook.title}” is in “{made.title}”.")
                return redirect(back)
        else:
            target = _collection_by_id(request)
            if request.POST.get("action") == "remove":
                services.remove(request.user, target, workbook)
                messages.success(request, f"“{workbook.title}” is out of “{target.title}”.")
            else:
                services.add(request.user, target, workbook)
                messages.success(request, f"“{workbook.title}” is in “{target.title}”.")
            return redirect(back)
    context = {
        "workbook": workbook,
        "collections": selectors.choices_for(request.user, workbook),
        "form": form,
        "next": back,
    }
    return render_form(request, "social/collections/collect.html", context)


def _collection_by_id(request: AuthenticatedHttpRequest) -> Collection:
    ids = parse_ids([request.POST.get("collection", "")])
    found = Collection.objects.editable_by(request.user).filter(pk__in=ids).first()
    if found is None:
        raise Http404("No such collection.")
    return found


# --- Atom ------------------------------------------------------------------------------------------


class CollectionFeed(Feed):
    """A public collection's workbooks, latest added first."""

    feed_type = Atom1Feed

    def get_object(self, request: HttpRequest, username: str, slug: str) -> Collection:
        try:
            return Collection.objects.select_related("owner").get(
                owner__username__iexact=username,
                owner__is_active=True,
                slug=slug,
                visibility=Collection.Visibility.PUBLIC,
            )
        except Collection.DoesNotExist:
            raise Http404("No such collection.") from None

    def title(self, obj: Collection) -> str:
        return f"Sigma Playground: {obj.title}, a collection by {obj.owner.display_name}"

    def link(self, obj: Collection) -> str:
        return obj.get_absolute_url()

    def subtitle(self, obj: Collection) -> str:
        return obj.description or f"Workbooks collected by {obj.owner.display_name}."

    def items(self, obj: Collection) -> list[CollectionItem]:
        return selectors.feed_items(obj)

    def item_title(self, item: CollectionItem) -> str:
        return item.workbook.title

    def item_link(self, item: CollectionItem) -> str:
        return item.workbook.get_absolute_url()

    def item_description(self, item: CollectionItem) -> str:
        # Atom's summary is written with type="html": readers render it, so the text is escaped.
        return escape(item.workbook.description_text[:500])

    def item_author_name(self, item: CollectionItem) -> str:
        return item.workbook.author.display_name

    def item_pubdate(self, item: CollectionItem):
        return item.added_at

    def item_updateddate(self, item: CollectionItem):
        return item.workbook.updated_at
