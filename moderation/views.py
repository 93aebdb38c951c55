"""The report form: /report/<kind>/<id or username>/, for signed-in members.

The Report links on the workbook page, on each comment and on a profile are the same for every
reader (those pages are shared), so this page is where one's own content is refused (400) and what
the reader cannot see is a 404. A rate limit shows the form again with the 429 (what was written is
kept); the services' other refusals are answered by sigma_playground.errors.PageErrorsMiddleware.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from accounts.http import AuthenticatedHttpRequest
from sigma_playground.forms import form_retry_later, render_form
from sigma_playground.rates import RateLimited

from . import selectors, services
from .forms import ReportForm

TEMPLATE = "moderation/report.html"


@require_http_methods(["GET", "POST"])
@login_required
def report(request: AuthenticatedHttpRequest, kind: str, ref: str) -> HttpResponse:
    found = selectors.reportable(request.user, kind, ref)
    if found.owner_id == request.user.pk:
        raise ValidationError("You cannot report yourself or your own content.", code="own_content")
    form = ReportForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "found": found}
    if form.is_valid():
        try:
            services.report(
                request.user, kind, ref, form.cleaned_data["reason"], form.cleaned_data["text"]
            )
        except RateLimited as error:
            return form_retry_later(request, TEMPLATE, context, error)
        except ValidationError as error:
            if not hasattr(error, "error_dict"):
                raise  # already reported: a 400 page saying so
            for name, errors in error.error_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, "Thank you: moderators will look at your report.")
            return redirect(found.public_url or "/")
    return render_form(request, TEMPLATE, context)
