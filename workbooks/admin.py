"""The admin for curators: find workbooks, feature and unfeature them, unpublish what breaks the rules.

Every write goes through the services, as on the site (they keep the search entries, tag counts and
the gallery's cache current): the ModelAdmin hooks (save_model, save_formset, delete_model,
delete_queryset, the actions) call them instead of saving rows themselves.

Curators (accounts.roles) can view published workbooks and tags, unpublish, and manage featured
entries; they cannot edit workbooks, read others' drafts or see members. Moderators also change,
delete and read drafts. Approving a workbook for secure (signed) embedding takes its own permission,
which no role carries: superusers, or whoever a superuser grants it to.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import models
from django.db.models import Exists, OuterRef
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse

from media.templatetags.media_tags import picture
from sigma_playground.admin import FeaturingAdmin, on_site_link
from sigma_playground.forms import https_url_fields

from . import selectors, services
from .models import SECURE_EMBED_APPROVED, Featured, Tag, Workbook
from .sigma import EmbedKind


class FeaturedNowFilter(admin.SimpleListFilter):
    title = "featured"
    parameter_name = "featured"

    def lookups(self, request, model_admin):
        return [("yes", "Featured now"), ("no", "Not featured")]

    def queryset(self, request, queryset):
        open_ = selectors.open_featurings().filter(workbook=OuterRef("pk"))
        if self.value() == "yes":
            return queryset.filter(Exists(open_))
        if self.value() == "no":
            return queryset.exclude(Exists(open_))
        return queryset


class SecureEmbedFilter(admin.SimpleListFilter):
    title = "secure embedding"
    parameter_name = "secure_embed"

    def lookups(self, request, model_admin):
        return [("awaiting", "Awaiting approval"), ("approved", "Approved")]

    def queryset(self, request, queryset):
        signed_kinds = queryset.exclude(embed_kind=EmbedKind.PUBLIC.value)
        if self.value() == "awaiting":
            return signed_kinds.exclude(SECURE_EMBED_APPROVED)
        if self.value() == "approved":
            return signed_kinds.filter(SECURE_EMBED_APPROVED)
        return queryset


class FeaturingFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        # Only what is listed can be featured (as services.feature and the featured list's form): a
        # new or changed entry of a draft or an unlisted workbook is refused, since the rail would
        # never show it. Entries left as they are stay, so a featured workbook can still be unlisted.
        super().clean()
        workbook = self.instance  # with the values of this same submission
        if workbook.is_published and workbook.listed:
            return
        for form in self.forms:
            if form.has_changed() and not form.cleaned_data.get("DELETE"):
                form.add_error(
                    None,
                    "Only a published, listed workbook can be featured: the rail never "
                    "shows a draft or an unlisted one.",
                )


class FeaturedInline(admin.TabularInline):
    model = Featured
    formset = FeaturingFormSet
    extra = 0
    fields = ["position", "starts_at", "ends_at", "note", "curated_by"]
    readonly_fields = ["curated_by"]


class WorkbookAdminForm(forms.ModelForm):
    class Meta:
        model = Workbook
        formfield_callback = https_url_fields
        fields = [
            "title",
            "author",
            "status",
            "listed",
            "published_at",
            "embed_url",
            "description",
            "tags",
        ]

    def clean_embed_url(self) -> str:
        return services.parse_embed_url(self.cleaned_data["embed_url"]).url


@admin.register(Workbook)
class WorkbookAdmin(admin.ModelAdmin):
    form = WorkbookAdminForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = [
        "title", "author", "status", "listed", "embed_kind", "published_at",
        "view_count", "favorite_count", "comment_count", "on_site",
    ]  # fmt: skip
    list_filter = [
        "status", "listed", FeaturedNowFilter, SecureEmbedFilter, "embed_kind", "tags",
        "published_at",
    ]  # fmt: skip
    search_fields = ["title", "author__username", "author__full_name", "tags__name"]
    list_select_related = ["author"]
    autocomplete_fields = ["author", "tags"]
    readonly_fields = [
        "slug", "embed_kind", "created_at", "updated_at", "view_count",
        "favorite_count", "comment_count", "trending_score", "thumbnail_preview",
        "secure_embed_status",
    ]  # fmt: skip
    fields = [
        "title", "author", "status", "listed", "published_at", "embed_url", "description",
        "tags", *readonly_fields,
    ]  # fmt: skip
    inlines = [FeaturedInline]
    actions = [
        "feature", "unfeature", "unpublish", "approve_secure_embed", "withdraw_secure_embed",
    ]  # fmt: skip
    date_hierarchy = "published_at"

    def get_queryset(self, request):
        # Others' drafts only with view_draft, as on the site: curators see what is published.
        return super().get_queryset(request).visible_to(request.user)

    def get_readonly_fields(self, request, obj=None):
        # Who wrote a workbook is chosen when it is made, never changed after: a moderator can edit
        # or remove a member's workbook but not put it under someone else's name.
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "author"] if obj is not None else fields

    def view_on_site(self, obj: Workbook) -> str:
        # The workbook's own page (drafts too: whoever sees one here may open it there).
        return obj.get_absolute_url()

    @admin.display(description="On the site")
    def on_site(self, obj: Workbook) -> str:
        return on_site_link(obj.get_absolute_url())

    @admin.display(description="Secure embedding")
    def secure_embed_status(self, obj: Workbook) -> str:
        if obj.embed_kind == EmbedKind.PUBLIC:
            return "Not needed: a public embed is framed as it is."
        if obj.secure_embed_approved:
            by = obj.secure_embed_approved_by or "a deleted account"
            return f"Approved by {by} on {obj.secure_embed_approved_at:%Y-%m-%d %H:%M} UTC."
        return "Awaiting approval: shown as a link to Sigma until approved."

    @admin.display(description="Thumbnail")
    def thumbnail_preview(self, obj: Workbook) -> str:
        # Authors upload thumbnails on the edit page; the admin shows the one in use.
        return picture(obj.picture, "small", alt="") or "None (a generated placeholder is shown)"

    def save_model(self, request, obj, form, change) -> None:
        # Through the service, so the description is rendered and the URL parsed as everywhere else,
        # and a workbook listed or unlisted here comes into or leaves the cached lists at once.
        data = {
            name: form.cleaned_data[name]
            for name in ("title", "description", "embed_url", "status", "listed")
        }
        if change:
            # The admin has copied the form's values onto obj already, but the service tells what
            # changed from the workbook it is given: it gets these as stored, or unlisting here
            # would leave the kept pages that show it, and a new URL its old approval.
            obj.refresh_from_db(fields=["listed", "embed_url"])
            services.update_workbook(obj, **data)
        else:
            obj.pk = services.create_workbook(obj.author, **data).pk

    def save_related(self, request, form, formsets, change) -> None:
        before = services.tag_ids_of([form.instance.pk])
        super().save_related(request, form, formsets, change)
        services.refresh_tag_counts(before | services.tag_ids_of([form.instance.pk]))
        services.refresh_search_entries(Workbook.objects.filter(pk=form.instance.pk))
        services.related_changed([form.instance.pk])

    def save_formset(self, request, form, formset, change) -> None:
        for featuring in formset.save(commit=False):
            services.save_featuring(featuring, request.user)
        gone = [featuring.pk for featuring in formset.deleted_objects]
        if gone:
            services.delete_featurings(Featured.objects.filter(pk__in=gone))

    def delete_model(self, request, obj) -> None:
        services.delete_workbook(obj)

    def delete_queryset(self, request, queryset) -> None:
        services.delete_workbooks(queryset)

    @admin.action(description="Feature the selected workbooks", permissions=["feature"])
    def feature(self, request, queryset):
        created = services.feature(queryset.order_by("pk"), request.user)
        self.message_user(
            request, f"{len(created)} workbook(s) featured from now.", messages.SUCCESS
        )

    @admin.action(description="Stop featuring the selected workbooks", permissions=["feature"])
    def unfeature(self, request, queryset):
        ended = services.unfeature(queryset)
        self.message_user(request, f"{ended} featured entr(y/ies) ended.", messages.SUCCESS)

    @admin.action(description="Unpublish the selected workbooks", permissions=["unpublish"])
    def unpublish(self, request, queryset):
        count = services.unpublish(queryset)
        self.message_user(request, f"{count} workbook(s) unpublished.", messages.SUCCESS)

    @admin.action(
        description="Approve the selected workbooks for secure embedding",
        permissions=["approve_secure_embed"],
    )
    def approve_secure_embed(self, request, queryset):
        """Two steps, like deleting: first the URLs each workbook has now, then the approval of
        exactly those URLs. A URL the author changed in between is not approved."""
        candidates = queryset.exclude(embed_kind=EmbedKind.PUBLIC).select_related("author")
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "admin/workbooks/workbook/approve_secure_embed.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Approve for secure embedding",
                    "opts": self.model._meta,
                    "workbooks": candidates.order_by("title"),
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                },
            )
        shown = {workbook.pk: request.POST.get(f"url-{workbook.pk}", "") for workbook in candidates}
        count = services.approve_secure_embed(shown, request.user)
        message = f"{count} workbook(s) approved for secure embedding, each for the URL shown."
        changed = len(shown) - count
        if changed:
            message += f" {changed} changed its URL meanwhile and still awaits approval."
        self.message_user(request, message, messages.SUCCESS if not changed else messages.WARNING)
        return None

    @admin.action(
        description="Withdraw secure embedding approval", permissions=["approve_secure_embed"]
    )
    def withdraw_secure_embed(self, request, queryset):
        count = services.withdraw_secure_embed(queryset)
        self.message_user(request, f"{count} approval(s) withdrawn.", messages.SUCCESS)

    def has_approve_secure_embed_permission(self, request) -> bool:
        return request.user.has_perm("workbooks.approve_secure_embed")

    def has_feature_permission(self, request) -> bool:
        return request.user.has_perms(["workbooks.add_featured", "workbooks.change_featured"])

    def has_unpublish_permission(self, request) -> bool:
        return request.user.has_perm("workbooks.unpublish_workbook")


@admin.register(Featured)
class FeaturedAdmin(FeaturingAdmin):
    list_display = [
        "workbook", "position", "starts_at", "ends_at", "note", "curated_by", "is_current",
    ]  # fmt: skip
    list_select_related = ["workbook", "curated_by"]
    search_fields = ["workbook__title", "note"]
    autocomplete_fields = ["workbook"]
    fields = ["workbook", "position", "starts_at", "ends_at", "note", "curated_by"]

    def get_queryset(self, request):
        # Entries of workbooks the viewer may open: a featured draft (unpublished since) is named in
        # this list only to those who may read drafts, as in the workbooks' own list.
        return (
            super()
            .get_queryset(request)
            .filter(workbook__in=Workbook.objects.visible_to(request.user))
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "workbook":
            # Only what is listed can be featured (as services.feature): a draft's id typed into
            # the form is refused, instead of featuring it and showing its title to a curator, and
            # an unlisted one, which the rail would never show.
            kwargs["queryset"] = Workbook.objects.listed()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change) -> None:
        services.save_featuring(obj, request.user)

    def delete_model(self, request, obj) -> None:
        services.delete_featurings(Featured.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset) -> None:
        services.delete_featurings(queryset)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request, obj, form, change) -> None:
        # A renamed tag's workbooks are indexed again, once (services.save_tag).
        services.save_tag(obj)

    def delete_model(self, request, obj) -> None:
        services.delete_tags(Tag.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset) -> None:
        services.delete_tags(queryset)
