"""Refusals the services raise and `sigma_playground.errors` answers. Apart from errors.py, which
imports DRF, so that an app module DRF itself loads (an authentication class) can raise one
without an import cycle."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied


class Forbidden(PermissionDenied):
    """A service's refusal of this member until something changes (an unverified address, a
    suspension): a 403 with the subclass's `code` in the API, and its own page (`page_template`,
    given `message`) for pages, which says what to do."""

    code = "permission_denied"
    page_template = "problem.html"
