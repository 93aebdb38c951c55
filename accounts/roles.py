"""Roles: curators manage featured content and nothing else; moderators look after members' content;
superusers administer everything.

Being staff grants nothing here: it only lets a user into the admin. Every power is a permission:

- A curator is a staff user in the Curators group: featured content, unpublishing, and viewing
  published workbooks in the admin.
- A moderator is a staff user in the Moderators group: reads others' drafts, changes, unpublishes and
  deletes any workbook, deletes any comment, and works the reports queue (moderation): hides,
  unpublishes, dismisses, suspends members, and reads the moderation log.
- Approving a workbook for secure (signed) embedding (workbooks.approve_secure_embed) is in no role:
  it decides what the organisation's Sigma embed secret exposes, so superusers hold it and grant it
  to a person by hand.

The groups' permissions are kept equal to these lists after every migrate, so a permission granted by
hand to a group in the admin does not silently widen a role.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

CURATORS_GROUP = "Curators"
MODERATORS_GROUP = "Moderators"

# "app_label.codename". An entry whose model does not exist yet is skipped until its migration runs.
CURATOR_PERMISSIONS: tuple[str, ...] = (
    "workbooks.view_workbook",
    "workbooks.unpublish_workbook",
    "workbooks.view_tag",
    "workbooks.view_featured",
    "workbooks.add_featured",
    "workbooks.change_featured",
    "workbooks.delete_featured",
    "social.view_collection",
    "social.view_featuredcollection",
    "social.add_featuredcollection",
    "social.change_featuredcollection",
    "social.delete_featuredcollection",
)
MODERATOR_PERMISSIONS: tuple[str, ...] = (
    "workbooks.view_workbook",
    "workbooks.view_draft",
    "workbooks.change_workbook",
    "workbooks.delete_workbook",
    "workbooks.unpublish_workbook",
    "workbooks.view_tag",
    "social.delete_comment",
    # The reports queue: reading it, acting on it (hide, unpublish, dismiss, suspend), and the log.
    "moderation.view_report",
    "moderation.change_report",
    "moderation.view_moderationaction",
)
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    CURATORS_GROUP: CURATOR_PERMISSIONS,
    MODERATORS_GROUP: MODERATOR_PERMISSIONS,
}


def sync_role_groups(**kwargs: Any) -> None:
    for name, permissions in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for dotted in permissions:
            app_label, codename = dotted.split(".", 1)
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:
                wanted.append(permission)
        group.permissions.set(wanted)


def _give_role(user, group_name: str) -> None:
    user.is_staff = True  # to enter the admin; the group carries the powers
    user.save(update_fields=["is_staff"])
    user.groups.add(Group.objects.get(name=group_name))


def make_curator(user) -> None:
    """Give a user the curator role (used by the admin and by seed data)."""
    _give_role(user, CURATORS_GROUP)


def make_moderator(user) -> None:
    """Give a user the moderator role."""
    _give_role(user, MODERATORS_GROUP)
