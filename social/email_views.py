"""The members' email pages: the Settings page's "Email" section and its form, and the unsubscribe
link's page, which needs no sign-in."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts import verification
from accounts.http import AuthenticatedHttpRequest, member

from . import email_selectors, emails
from .email_forms import EmailPreferencesForm


def _section_url() -> str:
    return reverse("accounts:settings") + "#email"


def settings_section(request: HttpRequest) -> SafeString:
    """The Settings page's "Email" section (registered in social.receivers)."""
    user = member(request)
    form = EmailPreferencesForm.for_preference(email_selectors.preferences_of(user))
    context = {
        "form": form,
        # In optional mode nothing else waits on a verified address, but these emails still do.
        "verification": verification.mode(),
        "awaits_verifying": verification.links_sent() and not user.email_verified,
    }
    return SafeString(render_to_string("social/inc/email_settings.html", context, request=request))


@require_http_methods(["GET", "POST"])
@login_required
def email_preferences(request: AuthenticatedHttpRequest) -> HttpResponse:
    """POST the Email section's form; a GET goes to the section."""
    if request.method == "POST":
        form = EmailPreferencesForm(request.POST)
        if not form.is_valid():  # tick boxes: nothing a browser sends is refused
            raise ValidationError("Those choices could not be read.", code="invalid")
        # A refusal (too many saves this minute) goes through to the error pages.
        emails.set_preferences(request.user, form.choices())
        messages.success(request, "Your email choices are saved.")
    return redirect(_section_url())


# RFC 8058: a mail client's one-click unsubscribe POSTs `List-Unsubscribe=One-Click` to this
# address with no session and no CSRF token; the signed link is what proves who asks.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks to confirm with a button (a link scanner following the link unsubscribes nobody);
    POST, the button or the one-click, unsubscribes and answers 200."""
    try:
        person, kind = emails.read_unsubscribe_token(token)
    except signing.BadSignature:
        raise ValidationError(
            "This unsubscribe link is not valid: it may have been cut short. Choose what we send "
            "you in Settings instead.",
            code="bad_link",
        ) from None
    context = {"person": person, "what": emails.UNSUBSCRIBE_LABELS[kind], "done": False}
    if request.method == "POST":
        emails.unsubscribe(person, kind)
        context["done"] = True
    return render(request, "social/unsubscribe.html", context)
