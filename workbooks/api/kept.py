"""Workbook lists answered from the copy kept for visitors (workbooks.cache.SharedForVisitors).

- A visitor's GET whose copy is kept is answered before DRF reads the request at all (no request
  wrapper, authenticators, permissions or content negotiation): such a request has no credentials
  to check, these lists have no throttles, and the copy holds the headers DRF gave its first answer.
  A request that asks for anything else (another media type, a parameter the list does not read)
  goes through DRF as before.
- A member's page is the visitors' copy with the one field that is theirs, `is_favorited`, read for
  the page's workbooks in one query (on the primary) and kept with the member's token, which each of
  their favorites and unfavorites renews (social.services): the rows are the same for everyone
  (published workbooks only), and links come from SITE_URL for everyone. With no copy kept, the
  member's page is made as before (its links from SITE_URL too).
- Only an answer negotiated as plain `application/json` is kept (not one a client asked indented).
"""

from __future__ import annotations

import json
from collections.abc import Set
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.authentication import for_reads
from sigma_playground import paging
from sigma_playground.db_router import PRIMARY

from .. import cache as gallery_cache
from ..favorites import favorited_ids

JSON = "application/json"
# What a client may send as Accept and still be answered the kept copy: what DRF's negotiation maps
# to JSONRenderer's plain `application/json` (the only renderer of the API).
_PLAIN_ACCEPTS = frozenset({"", "*/*", "application/*", JSON})


def _accepts_plain_json(request: HttpRequest) -> bool:
    accept = request.META.get("HTTP_ACCEPT", "")
    return all(part.strip() in _PLAIN_ACCEPTS for part in accept.split(","))


class KeptLists(gallery_cache.SharedForVisitors):
    """SharedForVisitors, answered earlier: see the module's docstring. `kept_list_applies` says
    whether a request (Django's, or DRF's once it wraps it) is for the list that is kept."""

    # A visitor's miss looked up in `dispatch`, for `list`: (entry key, gallery version read).
    _kept_looked_up: tuple[str, int] | None

    def kept_list_applies(self, request: HttpRequest | Request) -> bool:
        return True

    def get_authenticators(self) -> list[BaseAuthentication]:
        # The list uses nothing of a member but who they are (accounts.api.authentication).
        authenticators = super().get_authenticators()
        return (
            for_reads(self, authenticators)
            if self.kept_list_applies(self.request)
            else authenticators
        )

    def _kept_key(self, request: HttpRequest, kwargs: dict[str, Any]) -> str | None:
        """The key of this list's kept copy for `request`, or None when the list keeps none for it."""
        if request.method != "GET" or not self.kept_list_applies(request):
            return None
        if not set(request.GET) <= {*self.shared_params, *gallery_cache.paging_params()}:
            return None
        read = sorted(
            (name, values)
            for name, values in request.GET.lists()
            if name not in ("page", "cursor")  # in page_key, spelled one way
        )
        key = repr((sorted(kwargs.items()), read, paging.page_key(request.GET)))
        return gallery_cache._visitor_key(f"api:{self.shared_name}", key)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self._kept_looked_up = None
        if gallery_cache.is_visitor(request) and _accepts_plain_json(request):
            entry_key = self._kept_key(request, kwargs)
            if entry_key is not None:
                current, cached, _ = gallery_cache._read_entry(entry_key, 2)
                if cached is not None:
                    content, headers = cached
                    return HttpResponse(content, headers=headers)
                self._kept_looked_up = (entry_key, current)
        return super().dispatch(request, *args, **kwargs)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        asked = request._request
        looked_up, self._kept_looked_up = self._kept_looked_up, None
        if looked_up is not None and request.auth is None and not request.user.is_authenticated:
            # A visitor's miss: made as for any visitor, and kept if it is plain JSON.
            asked.__dict__["_current_scheme_host"] = settings.SITE_URL
            response = super(gallery_cache.SharedForVisitors, self).list(request, *args, **kwargs)
            shared_as = looked_up if request.accepted_media_type == JSON else None
            setattr(response, gallery_cache.SHARED_AS, shared_as)
            return response
        if request.user.is_authenticated:
            member_page = self._member_page(request, request.user.pk, kwargs)
            if member_page is not None:
                return member_page
            if self._kept_key(asked, kwargs) is not None:
                # Links as in the kept copy, so a member's pages link alike, kept or not.
                asked.__dict__["_current_scheme_host"] = settings.SITE_URL
        # Neither: as before (a visitor asking for another media type, a member with no copy).
        return super(gallery_cache.SharedForVisitors, self).list(request, *args, **kwargs)

    def _member_page(
        self, request: Request, member: int, kwargs: dict[str, Any]
    ) -> Response | None:
        entry_key = self._kept_key(request._request, kwargs)
        if entry_key is None:
            return None
        favorites_key = f"{entry_key}:favorited:{member}"
        token_key = gallery_cache._depends_key("user", member)
        _, cached, found = gallery_cache._read_entry(entry_key, 2, favorites_key, token_key)
        if cached is None:
            return None
        content, headers = cached
        if not headers.get("Content-Type", "").startswith(JSON):
            return None
        page = json.loads(content)
        results = page.get("results") if isinstance(page, dict) else None
        if not isinstance(results, list):
            return None
        favorited: Set[int] | None = _kept_favorites(found.get(favorites_key), found.get(token_key))
        if favorited is None:
            token = found.get(token_key)
            if token is None:  # read (made) before the favorites are
                token = (gallery_cache.depends_on(("user", member)) or {}).get(token_key)
            ids = [row["id"] for row in results]
            # From the primary: what is kept under the token must be at least as new as the commit
            # that renewed it (a replica may not have the member's latest favorite yet).
            favorited = set(favorited_ids(member, ids, using=PRIMARY))
            if token is not None:
                cache.set(favorites_key, (token, frozenset(favorited)), FAVORITES_SECONDS)
        for row in results:
            row["is_favorited"] = row["id"] in favorited
        return Response(page)


# How long a member's favorites among a kept page are kept: the page itself is good for its minute.
FAVORITES_SECONDS = 90


def _kept_favorites(kept: object, token: object) -> frozenset[int] | None:
    """The member's favorites among a page, as kept with their token (renewed by each of their
    favorites and unfavorites: social.services), if that token is still theirs."""
    if token is None or not isinstance(kept, tuple) or len(kept) != 2 or kept[0] != token:
        return None
    return kept[1] if isinstance(kept[1], frozenset) else None
