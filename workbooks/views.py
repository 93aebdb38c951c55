from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import profiles, verification
from accounts import selectors as accounts_selectors
from accounts import services as account_services
from accounts.http import AuthenticatedHttpRequest
from media import selectors as media_selectors
from media import services as media_services
from media.forms import PictureForm, report_outcome
from media.models import Image
from sigma_playground import paging
from sigma_playground.forms import render_form
from sigma_playground.paging import Page

from . import cache as gallery_cache
from . import embed, selectors, services, sigma
from .forms import WorkbookForm
from .models import Tag, Workbook

PAGE_SIZE = 24
# The drafts the author's own profile shows; the Drafts tab has them all.
DRAFTS_ON_PROFILE = 50
SORT_CHOICES = [
    ("", "Latest"),
    ("trending", "Trending"),
    ("favorites", "Most favorited"),
    ("views", "Most viewed"),
]
# Featured workbooks an explore page that found nothing suggests.
EMPTY_STATE_FEATURED = 4
SORT_CHOICES_SEARCH = [("", "Best match"), ("latest", "Latest"), *SORT_CHOICES[1:]]


@require_GET
@gallery_cache.shared_page("home")  # reads no parameter
def home(request: HttpRequest) -> HttpResponse:
    def render_listings() -> str:
        # Each workbook once, in its most prominent place (selectors.home_listings).
        listings = selectors.home_listings()
        return render_to_string("workbooks/inc/home_listings.html", {"home": listings})

    listings = gallery_cache.fragment("home", str(gallery_cache.minute()), render_listings)
    return render(request, "workbooks/home.html", {"listings": listings})


def _search(request: HttpRequest) -> selectors.Search:
    """The search the explore page's URL asks for."""
    sort = request.GET.get("sort", "")
    return selectors.Search(
        query=request.GET.get("q", "")[:200],
        tag=request.GET.get("tag", "")[:50],
        sort=sort if sort in selectors.SORTS else "",
    )


def _explore_key(request: HttpRequest) -> str:
    """Everything the explore page reads from its URL (its cache key, so nothing else is in it)."""
    page = paging.page_param_key(request.GET.get("page"), maximum=paging.MAX_PAGE)
    return repr((_search(request), page))


def _without_empty_params(request: HttpRequest) -> str | None:
    """The explore page's clean address when its query holds empty parameters (`?q=hir&tag=&sort=`
    is `?q=hir`), so links, bookmarks and forms sent without JavaScript all read the same; None
    when it is clean already."""
    pairs = [(name, value) for name, values in request.GET.lists() for value in values]
    kept = [(name, value) for name, value in pairs if value.strip()]
    if len(kept) == len(pairs):
        return None
    return request.path + (f"?{urlencode(kept)}" if kept else "")


@require_GET
def explore(request: HttpRequest) -> HttpResponse:
    clean = _without_empty_params(request)
    if clean is not None:
        # Permanent: the same parameters always mean the same page.
        return redirect(clean, permanent=True)
    return _explore_page(request)


@gallery_cache.shared_page("explore", key=_explore_key, params=("q", "tag", "sort", "page"))
def _explore_page(request: HttpRequest) -> HttpResponse:
    params = _search(request)
    # A `page` that is not a number from 1 to paging.MAX_PAGE is BadPage: a 400, never kept, as
    # the API answers it.
    number = paging.page_param(request.GET.get("page"), maximum=paging.MAX_PAGE)
    query = params.query

    def render_results() -> str:
        too_deep = False
        try:
            page = selectors.search_page(params, number, PAGE_SIZE)
        except selectors.TooDeep:
            # Past what a search keeps: a page that says so, not an OFFSET that reads everything.
            page, too_deep = Page(items=[], number=number, has_next=False), True
        for workbook in page.items:
            workbook.snippet = selectors.snippet(workbook, query) if query else ""
        # Only what the fragment's key holds: the rendering is shared by everyone asking.
        kept = {"q": query, "tag": params.tag, "sort": params.sort}
        context = {
            "query": query,
            "query_string": urlencode({name: value for name, value in kept.items() if value}),
            "params": params,
            "page": page,
            "too_deep": too_deep,
            "kept_results": selectors.SEARCH_RESULTS,
            "sorts": SORT_CHOICES_SEARCH if query else SORT_CHOICES,
            "tags": selectors.popular_tags(),
            "people": (
                accounts_selectors.search_people(query, limit=6) if query and number == 1 else []
            ),
        }
        if not page.items and not too_deep and number == 1:
            # Nothing found: a way on instead of a dead end (a corrected query, tags, the featured).
            meant = selectors.did_you_mean(query) if query else ""
            context["did_you_mean"] = meant
            context["did_you_mean_query"] = urlencode(
                {name: value for name, value in {**kept, "q": meant}.items() if value}
            )
            context["featured"] = selectors.featured_workbooks(limit=EMPTY_STATE_FEATURED)
        return render_to_string("workbooks/inc/explore_results.html", context)

    # Nothing in the results depends on who is asking, so one rendering serves every reader.
    results = gallery_cache.fragment("explore", f"{params}|{number}", render_results)
    return render(request, "workbooks/explore.html", {"query": query, "results": results})


def _viewable(request: HttpRequest, slug: str, *, tags: bool = True) -> Workbook:
    try:
        return selectors.detail(slug, request.user, tags=tags)
    except Workbook.DoesNotExist:
        raise Http404("No such workbook.") from None


def owned_workbook(request: HttpRequest, slug: str, action: str = "change") -> Workbook:
    """Only the author, or staff allowed to, may change or delete a workbook; to others it does not exist."""
    try:
        return selectors.editable(slug, request.user, action)
    except Workbook.DoesNotExist:
        raise Http404("No such workbook.") from None


@require_GET
def detail(request: HttpRequest, slug: str) -> HttpResponse:
    kept = gallery_cache.for_visitor(request, "workbook", slug)
    if kept is not None:
        # The page as composed for visitors, kept while the gallery, the workbook and its author
        # are as they were: no query. The view is counted as on a rendered page (one cache write).
        published = Workbook(pk=kept.kept_extra, slug=slug, status=Workbook.Status.PUBLISHED)
        services.record_view(request, published)
        return kept
    shared = gallery_cache.for_member(request, "workbook", slug)
    if shared is not None:
        # The shared copy as kept for the slug (the same rules as the visitors' copy), to be
        # composed for this reader, if they see what every reader sees: no query for the workbook.
        response, (pk, author_id, embed_kind) = shared
        published = Workbook(
            pk=pk, slug=slug, author_id=author_id, embed_kind=embed_kind,
            status=Workbook.Status.PUBLISHED,
        )  # fmt: skip
        if _same_for_every_reader(request, published):
            services.record_view(request, published)
            return response
    # The tags only when the page is rendered: a member's page is mostly the shared copy.
    workbook = _viewable(request, slug, tags=False)
    services.record_view(request, workbook)
    if workbook.is_public and _same_for_every_reader(request, workbook):
        # Counts and comments change without the gallery's version: a visitor's copy (keyed by
        # the slug alone, so it is found before any query) is retired when either row changes.
        objects = (("workbook", workbook.pk), ("user", workbook.author_id))
        depends = gallery_cache.visitor_depends(request, *objects)
        if depends:
            # The rows again, read after their tokens: a change committed since the first read
            # (a favorite) is then in the copy, not kept stale under its own new token.
            workbook = _viewable(request, slug, tags=False)
        elif depends is None:  # a member's copy: with the tokens read before the rows, if any
            depends = gallery_cache.member_depends(request, *objects)
        # One rendering for every reader; the buttons and comments are slots, made per viewer. The
        # key holds what the page shows that a change to the workbook's row or its author's does not
        # always announce by the gallery's version (counts, the author's card).
        author = workbook.author
        key = "|".join(
            str(part)
            for part in (
                workbook.pk, workbook.slug, workbook.updated_at, workbook.view_count,
                workbook.favorite_count, workbook.comment_count, author.pk, author.username,
                author.display_name, author.bio, author.follower_count, author.avatar,
            )
        )  # fmt: skip
        return gallery_cache.shared_and_kept(
            request,
            "workbook",
            key,
            lambda visitor: _detail_page(visitor, workbook),
            visitor_key=slug,
            depends=depends,
            extra=workbook.pk if gallery_cache.is_visitor(request) else _facts(workbook),
        )
    return _detail_page(request, workbook)


def _facts(workbook: Workbook) -> tuple:
    """What a member's request needs of a workbook served from its kept copy (`for_member`)."""
    return (workbook.pk, workbook.author_id, workbook.embed_kind)


def _same_for_every_reader(request: HttpRequest, workbook: Workbook) -> bool:
    """Whether this reader sees the page any reader sees: not its author or a moderator (they get
    Edit and Delete), and a frame that is not signed for each viewer."""
    per_viewer_frame = (
        embed.secure_embedding_enabled() and workbook.embed_kind != sigma.EmbedKind.PUBLIC
    )
    return not per_viewer_frame and not workbook.editable_by(request.user)


def _detail_page(request: HttpRequest, workbook: Workbook) -> HttpResponse:
    selectors.with_tags(workbook)
    frame = embed.frame_for(workbook, request.user)
    context = {
        "workbook": workbook,
        "tags": list(workbook.tags.all()),
        "frame": frame,
        "frame_origins": embed.frame_origins(),
        "load_timeout_ms": settings.SIGMA_EMBED_LOAD_TIMEOUT * 1000,
        "related": selectors.related(workbook),
        "share_url": request.build_absolute_uri(workbook.get_absolute_url()),
        "can_edit": workbook.editable_by(request.user),
    }
    response = render(request, "workbooks/detail.html", context)
    if frame.expires_at is not None:
        # A signed embed URL is for this viewer only: no shared cache may keep the page.
        response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def publish(request: HttpRequest) -> HttpResponse:
    return _workbook_form(request, WorkbookForm(request.POST or None), "workbooks/publish.html")


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, slug: str) -> HttpResponse:
    workbook = owned_workbook(request, slug)
    form = WorkbookForm(request.POST or None, instance=workbook)
    return _workbook_form(request, form, "workbooks/edit.html", **_picture_context(workbook))


@login_required
@require_POST
def thumbnail(request: HttpRequest, slug: str) -> HttpResponse:
    """The edit page's thumbnail: upload a new one (processed after the request), or remove it;
    a refused upload shows the edit page with the reason."""
    workbook = owned_workbook(request, slug)
    if request.POST.get("action") == "remove":
        media_services.remove(Image.Kind.THUMBNAIL, workbook.pk)
        messages.success(request, "The thumbnail is removed.")
        return redirect("workbooks:edit", slug=workbook.slug)
    form = PictureForm(request.POST, request.FILES, request=request)
    image = form.save(owner=request.user, kind=Image.Kind.THUMBNAIL, holder=workbook.pk)
    if image is None:
        context = {
            "form": WorkbookForm(instance=workbook),
            **_picture_context(workbook, picture_form=form),
        }
        return render(request, "workbooks/edit.html", context, status=form.status_code)
    report_outcome(request, image, "thumbnail")
    return redirect("workbooks:edit", slug=workbook.slug)


def _picture_context(workbook: Workbook, picture_form: PictureForm | None = None) -> dict:
    return {
        "workbook": workbook,
        "picture_form": picture_form or PictureForm(),
        "picture_upload": media_selectors.unfinished_upload(
            kind=Image.Kind.THUMBNAIL, holder=workbook.pk
        ),
    }


def _workbook_form(
    request: HttpRequest, form: WorkbookForm, template: str, **context
) -> HttpResponse:
    """Save a valid publish or edit form and go to the workbook; else show the form, 400 with errors
    (403 when publishing waits for the member's verified address: the form keeps what was typed)."""
    context = {"form": form, "must_verify": verification.must_verify(request.user), **context}
    if request.method == "POST" and form.is_valid():
        # What it was before this save (None: new): the message says what changed.
        status_before = form.instance.status if form.instance.pk else None
        try:
            workbook = form.save_for(request.user)
        except ValidationError:
            pass  # the form now carries the error
        except verification.EmailUnverified as refusal:
            form.add_error("status", str(refusal))
            return render(request, template, context, status=403)
        else:
            messages.success(request, _saved_message(workbook, status_before))
            return redirect(workbook)
    return render_form(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, slug: str) -> HttpResponse:
    workbook = owned_workbook(request, slug, "delete")
    if request.method == "POST":
        services.delete_workbook(workbook)
        messages.success(request, f"“{workbook.title}” is deleted.")
        return redirect("workbooks:author", username=request.user.username)
    return render(request, "workbooks/delete.html", {"workbook": workbook})


def _saved_message(workbook: Workbook, status_before: str | None) -> str:
    """Say what the save did: an edit of what was already published publishes nothing, and an
    unpublished workbook is a draft whatever it was before."""
    title = workbook.title
    if workbook.is_published:
        if status_before == Workbook.Status.PUBLISHED:
            return f"Your changes to “{title}” are saved."
        return f"“{title}” is published."
    if status_before == Workbook.Status.PUBLISHED:
        return f"“{title}” is unpublished and saved as a draft. Only you can see it."
    return f"“{title}” is saved as a draft. Only you can see it."


# What a listing paged by sigma_playground.paging reads from its URL.
PAGING_PARAMS = ("page", "cursor")


def _paging_key(request: HttpRequest, **kwargs) -> str:
    """What a listing paged by sigma_playground.paging reads from its URL (its cache key)."""
    return repr((sorted(kwargs.items()), paging.page_key(request.GET)))


@require_GET
@gallery_cache.shared_page("tag", key=_paging_key, params=PAGING_PARAMS)
def tag(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        tag = selectors.listed_tag(slug)
    except Tag.DoesNotExist:
        raise Http404("No such tag.") from None
    page = paging.html_page(request, selectors.with_tag(tag), PAGE_SIZE)
    return render(request, "workbooks/tag.html", {"tag": tag, "page": page})


@require_GET
def author(request: HttpRequest, username: str) -> HttpResponse:
    # A visitor's copy is keyed by the address alone, so it is found before the member's row is read.
    visitor_key = repr((username, _paging_key(request)))
    kept = gallery_cache.for_visitor(request, "author", visitor_key)
    if kept is not None:
        return kept
    shared = gallery_cache.for_member(request, "author", visitor_key)
    if shared is not None:
        response, person_pk = shared
        if request.user.pk != person_pk:  # their own profile shows their drafts
            return response
    person = accounts_selectors.active_user_or_404(username)
    if person.username != username:
        return redirect("workbooks:author", username=person.username, permanent=True)
    if request.user == person:  # their drafts, and "Edit profile": theirs alone
        return _author_page(request, person)
    depends = gallery_cache.visitor_depends(request, ("user", person.pk))
    if depends:
        # The row again, read after its token: a follow committed since the first read is then in
        # the copy, not kept stale under its own new token.
        person = accounts_selectors.active_user_or_404(person.username)
    elif depends is None:  # a member's copy: with the token read before the row, if it was
        depends = gallery_cache.member_depends(request, ("user", person.pk))
    # The key holds what the header shows that the gallery's version does not follow (counts, bio,
    # links, pins: their workbooks' own changes move the gallery's version).
    shown = (
        person.pk,
        person.display_name,
        person.bio,
        person.website,
        person.avatar,
        person.organisation,
        person.location,
        person.links,
        person.pinned_workbook_ids,
    )
    counts = (person.follower_count, person.following_count, person.favorite_count)
    key = repr((shown, counts, _paging_key(request)))
    return gallery_cache.shared_and_kept(
        request,
        "author",
        key,
        lambda visitor: _author_page(visitor, person),
        visitor_key=visitor_key,
        params=PAGING_PARAMS,
        depends=depends,
        extra=person.pk,
    )


def _author_page(request: HttpRequest, person) -> HttpResponse:
    own = request.user == person  # their unlisted workbooks too, marked: a page for them alone
    page = paging.html_page(request, selectors.by_author_counted(person, unlisted=own), PAGE_SIZE)
    drafts = []
    if own:
        drafts = list(selectors.drafts_of(person)[:DRAFTS_ON_PROFILE])
    context = {
        "person": person,
        "page": page,
        "drafts": drafts,
        "more_drafts": len(drafts) == DRAFTS_ON_PROFILE,
        "workbook_count": page.items[0].author_workbook_count if page.items else 0,
        # Pinned first, on the profile's first page only.
        "pinned": [] if page.has_previous else selectors.pinned(person),
        "links": profiles.shown_links(person.links),
    }
    return render(request, "workbooks/author.html", context)


@login_required
@require_POST
def pin(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """The "Pin to profile" button on the author's own published workbook: pin it, or unpin it
    (`pinned=0`). Anyone else's workbook, or a draft, is a 404."""
    try:
        workbook = selectors.own_published(slug, request.user)
    except Workbook.DoesNotExist:
        raise Http404("No such workbook of yours.") from None
    pinned = request.POST.get("pinned") != "0"
    account_services.set_pinned(request.user, workbook.pk, pinned)
    messages.success(
        request, "Pinned to your profile." if pinned else "No longer pinned to your profile."
    )
    return redirect(workbook)


@require_GET
def drafts(request: HttpRequest, username: str) -> HttpResponse:
    """A member's drafts, to that member alone: to anyone else (staff too) no such page exists.
    Made for its one reader every time, never kept or shared."""
    user = request.user
    if not user.is_authenticated or user.username.lower() != username.lower():
        raise Http404("No such page.")
    if user.username != username:
        return redirect("workbooks:drafts", username=user.username, permanent=True)
    page = paging.html_page(request, selectors.drafts_of(user), PAGE_SIZE)
    return render(request, "workbooks/drafts.html", {"person": user, "page": page})


@require_GET
@xframe_options_sameorigin
def standin(request: HttpRequest, sigma_id: str) -> HttpResponse:
    """Development only: a page that stands in for a Sigma embed and speaks its postMessage events."""
    if not settings.SIGMA_EMBED_STANDIN:
        raise Http404
    response = render(
        request,
        "workbooks/standin.html",
        {"sigma_id": sigma_id, "kind": request.GET.get("kind", "public")[:20]},
    )
    response["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'self'"
    )
    return response
