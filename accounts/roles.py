"""Roles: curators manage featured content and nothing else; superusers administer everything.

A curator is a staff user (so the admin lets them in) in the Curators group. The group's permissions are
kept equal to CURATOR_PERMISSIONS after every migrate, so a permission granted by hand in the admin does not
silently widen the role.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

CURATORS_GROUP = "Curators"

# "app_label.codename". An entry whose model does not exist yet is skipped until its migration runs.
CURATOR_PERMISSIONS: tuple[str, ...] = (
    "workbooks.view_workbook",
    "workbooks.unpublish_workbook",
    "workbooks.view_tag",
    "workbooks.view_featured",
    "workbooks.add_featured",
    "workbooks.change_featured",
    "workbooks.delete_featured",
)


def sync_role_groups(**kwargs: Any) -> None:
    group, _ = Group.objects.get_or_create(name=CURATORS_GROUP)
    wanted = []
    for dotted in CURATOR_PERMISSIONS:
        app_label, codename = dotted.split(".", 1)
        permission = Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).first()
        if permission is not None:
            wanted.append(permission)
    group.permissions.set(wanted)


def make_curator(user) -> None:
    """Give a user the curator role (used by the admin and by seed data)."""
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.groups.add(Group.objects.get(name=CURATORS_GROUP))
