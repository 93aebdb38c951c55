"""The admin site: Django's, except that nobody signs in to it directly.

Django's own admin sign-in checks the password alone: no second factor, no lockout, no audit. Here its
URL sends visitors to the site's sign-in (accounts.services.sign_in, like every other path) and back to
where they were going. A POST to it is redirected with its method and body (307), so a script posting a
password there meets the same checks and the same 429 as the site's form.

Who may use the admin is Django's rule (active staff), plus: a member with MFA only in a session signed
in with the second factor, and, with MFA_REQUIRED_FOR_STAFF, only staff who have MFA set up.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse

from sigma_playground.http import next_url

from . import services


class AdminSite(admin.AdminSite):
    # The site's name in the header and the tab (templates/admin/base_site.html adds its colours).
    site_header = "Sigma Playground admin"
    site_title = "Sigma Playground admin"
    index_title = "Curate the gallery"

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and services.admin_refusal(request) is None

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        after = next_url(request, reverse("admin:index", current_app=self.name))
        user = request.user
        if user.is_active and user.is_staff:
            refusal = services.admin_refusal(request)
            if refusal is None:
                return HttpResponseRedirect(after)
            if refusal == "mfa_setup":
                messages.warning(
                    request, "Set up two-factor sign-in first: staff need it to use the admin."
                )
                return redirect("accounts:mfa")
            messages.info(request, "Sign in again with your code to use the admin.")
        elif user.is_authenticated:
            messages.info(
                request, f"You are signed in as {user.username}, who cannot use the admin."
            )
        target = f"{reverse('accounts:login')}?{urlencode({'next': after})}"
        # 307 keeps a POST a POST: its password is checked by the site's sign-in, not dropped.
        return HttpResponseRedirect(target, status=307 if request.method == "POST" else 302)
