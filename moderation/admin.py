"""The moderators' admin: the queue of reported targets, a page per target to act on it, and the
moderation log, which nobody can change.

The queue is one row per target with open reports, newest report first: how many distinct members
reported it, for what, and links to it. A target's page shows its open reports and what moderators
did to it before, and takes one action with a reason (moderation.services: one transaction, one log
entry, the target's reports closed). Viewing takes moderation.view_report, acting
moderation.change_report: accounts.roles gives both to moderators.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from accounts import suspension
from accounts.http import member
from accounts.models import User
from sigma_playground.errors import RetryLater, retry_later
from social.models import Comment
from workbooks.models import Workbook

from . import selectors, services
from .forms import ActionForm, decisions_for
from .models import Action, ModerationAction, Report, Target

QUEUE_URL = "admin:moderation_report_changelist"
TARGET_URL = "admin:moderation_report_target"


def target_url(kind: str, target_id: int) -> str:
    return reverse(TARGET_URL, args=[kind, target_id])


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """The queue: its list is of targets, not of reports (changelist_view)."""

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "target/<str:kind>/<int:target_id>/",
                self.admin_site.admin_view(self.target_view),
                name="moderation_report_target",
            ),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        page = Paginator(selectors.open_targets(), selectors.QUEUE_PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        rows = selectors.queue_rows(list(page.object_list))
        context = {
            **self.admin_site.each_context(request),
            "title": "Reports to review",
            "opts": self.opts,
            "rows": [
                (
                    row,
                    target_url(row.target.kind, row.target.id),
                    row.target.admin_url(request.user),
                )
                for row in rows
            ],
            "page": page,
        }
        return TemplateResponse(request, "admin/moderation/queue.html", context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # A report is read and acted on with the others about the same target.
        found = Report.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        if found is None or not self.has_view_or_change_permission(request):
            raise Http404("No such report.")
        return redirect(target_url(found.target_kind, found.target_id))

    def target_view(self, request: HttpRequest, kind: str, target_id: int) -> HttpResponse:
        if kind not in Target.values:
            raise Http404("No such kind of target.")
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        found = selectors.target(kind, target_id)
        suspended = isinstance(found.obj, User) and suspension.is_suspended(found.obj)
        decisions = (
            decisions_for(kind, found.moderation, suspended)
            if found.obj is not None
            else [Action.DISMISS]
        )
        form = ActionForm(request.POST or None, decisions=decisions)
        refused: RetryLater | None = None
        if request.method == "POST":
            if not self.has_change_permission(request):
                raise PermissionDenied
            if form.is_valid():
                try:
                    entry = _act(request, found, form.cleaned_data)
                except ValidationError as error:
                    _show_on(form, error)
                except RetryLater as error:  # the form again, with what was typed, as a 429
                    form.add_error(None, str(error))
                    refused = error
                else:
                    self.message_user(request, f"Done: {entry}.", messages.SUCCESS)
                    return HttpResponseRedirect(reverse(QUEUE_URL))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Reports of {found.description}",
            "opts": self.opts,
            "found": found,
            "admin_url": found.admin_url(request.user),
            # Where a moderator suspends the one who wrote it (a deleted member's comment has none).
            "owner_url": (
                target_url(Target.USER, found.owner_id)
                if kind != Target.USER and found.owner_id
                else None
            ),
            "suspended": suspended,
            "reports": selectors.open_reports(kind, target_id),
            "open_count": Report.objects.open().about(kind, target_id).count(),
            "history": selectors.history(kind, target_id),
            "form": form,
            "can_act": self.has_change_permission(request),
        }
        status = 400 if form.is_bound and form.errors else 200
        response = TemplateResponse(request, "admin/moderation/target.html", context, status=status)
        return retry_later(response, refused) if refused else response

    # Members make reports; moderators close them by acting, never by editing or deleting them.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Report | None = None) -> bool:
        return False


def _act(request: HttpRequest, found: selectors.Found, data: dict[str, Any]) -> ModerationAction:
    moderator = member(request)
    decision, reason = data["decision"], data["reason"]
    obj = found.obj
    if decision == Action.HIDE_COMMENT and isinstance(obj, Comment):
        return services.hide_comment(moderator, obj, reason)
    if decision == Action.UNPUBLISH_WORKBOOK and isinstance(obj, Workbook):
        return services.unpublish_workbook(moderator, obj, reason)
    if decision == Action.SUSPEND and isinstance(obj, User):
        return services.suspend(moderator, obj, data["ends_at"], reason)
    if decision == Action.RESTORE:
        return services.restore(moderator, found, reason)
    if decision == Action.LIFT_SUSPENSION and isinstance(obj, User):
        return services.lift_suspension(moderator, obj, reason)
    return services.dismiss(moderator, found, reason)


def _show_on(form: ActionForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error.messages[0])


@admin.register(ModerationAction)
class ModerationActionAdmin(admin.ModelAdmin):
    """The audit log: read, searched and filtered, never changed (the model refuses it too)."""

    list_display = [
        "created_at", "moderator_name", "action", "target_kind", "target_link", "reason",
    ]  # fmt: skip
    list_filter = ["action", "target_kind", "created_at"]
    search_fields = ["moderator_username", "target_description", "reason"]
    fields = readonly_fields = (
        "created_at", "moderator_username", "action", "target_kind", "target_id",
        "target_description", "reason",
    )  # fmt: skip
    ordering = ["-created_at", "-id"]

    @admin.display(description="Moderator", ordering="moderator_username")
    def moderator_name(self, entry: ModerationAction) -> str:
        return entry.moderator_username or "automatic"

    @admin.display(description="Target")
    def target_link(self, entry: ModerationAction) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            target_url(entry.target_kind, entry.target_id),
            entry.target_description,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: ModerationAction | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: ModerationAction | None = None
    ) -> bool:
        return False
