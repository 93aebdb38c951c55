"""Helpers shared by the project's forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .errors import RetryLater, retry_later


def https_url_fields(field: models.Field[Any, Any], **kwargs: Any) -> forms.Field | None:
    """A ModelForm `formfield_callback`: a bare address typed into a URL field means https."""
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


def render_form(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """Render a page with `context["form"]`: a submitted form with errors answers 400, so clients
    and tests see the failure, with the errors shown by their fields."""
    form = context.get("form")
    status = 400 if form is not None and form.is_bound and form.errors else 200
    return render(request, template, context, status=status)


def form_retry_later(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    error: RetryLater,
    *,
    field: str | None = None,
) -> HttpResponse:
    """The form's page again as a 429 with Retry-After, the refusal shown on `context["form"]` (by
    `field`, or above the fields), so what was typed is not lost."""
    context["form"].add_error(field, str(error))
    return retry_later(render_form(request, template, context), error)
