"""How the accounts app reacts to what it, media and Django send: a member's sign-ins ending
(accounts.signals.sign_ins_ended), a new avatar, the audit events, and any write of a member's row
for the bearer's kept member. Every receiver of the app is connected here, once, in
AccountsConfig.ready."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

from media.signals import picture_changed
from sigma_playground.observability import audit

from . import exports, tokens
from .api.authentication import member_row_written
from .images import forget_avatar, show_avatar
from .models import DataExport, User
from .roles import sync_role_groups
from .signals import sign_ins_ended


def connect() -> None:
    post_migrate.connect(sync_role_groups, dispatch_uid="accounts.sync_role_groups")
    sign_ins_ended.connect(end_sign_ins, dispatch_uid="accounts.end_sign_ins")
    picture_changed.connect(show_avatar, dispatch_uid="accounts.show_avatar")
    # Audit events: sign-outs, roles given or taken, and everything done through the admin. These
    # audit Django's own writes (its admin's log, the groups relation), which no service of ours
    # makes: the model signals are where they can be seen.
    user_logged_out.connect(audit_sign_out, dispatch_uid="accounts.audit_sign_out")
    for relation in (User.groups.through, User.user_permissions.through):
        m2m_changed.connect(
            audit_role_change, sender=relation, dispatch_uid=f"accounts.audit_{relation}"
        )
    post_save.connect(
        audit_admin_action, sender=LogEntry, dispatch_uid="accounts.audit_admin_action"
    )
    # A bearer's member kept for read-only lists (accounts.api.authentication) must be retired by
    # ANY write of their row, services or not (a sign-in's last_login, the admin, the shell, a
    # password set by `changepassword`): a copy outliving a deactivation would let the member in.
    # Only the model's own signals see every write, so they are the right place here.
    post_save.connect(member_row_written, sender=User, dispatch_uid="accounts.bearer_member_saved")
    post_delete.connect(
        member_row_written, sender=User, dispatch_uid="accounts.bearer_member_deleted"
    )
    # Files, as a deleted workbook's thumbnails (workbooks.receivers): however the row goes.
    post_delete.connect(forget_avatar, sender=User, dispatch_uid="accounts.avatar_gone")
    post_delete.connect(remove_export_file, sender=DataExport, dispatch_uid="accounts.export_gone")


def end_sign_ins(sender: type[User], user: User, reason: str, **kwargs: Any) -> None:
    """Every refresh token of the member stops working, whatever path changed the password.

    Browser sessions end at their next request: their stored auth hash no longer matches a changed
    password, and an inactive account is never authenticated. A deactivation also raises the
    sessions' generation (part of that hash), so reactivating the account does not bring them back.
    The session that changed its own password keeps going where the view re-signs it
    (update_session_auth_hash).
    """
    tokens.revoke_all_for_user(user, reason=reason)
    if reason == "deactivated":
        User.objects.filter(pk=user.pk).update(sessions_generation=F("sessions_generation") + 1)


# --- Audit events (sigma_playground.observability.audit) --------------------------------------------


def audit_sign_out(sender: Any, request: Any, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        audit.event("signout", request=request, actor=user, method="web")


def audit_role_change(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set | None, **kwargs: Any
) -> None:
    """A member's groups (their roles) or permissions changed, from either side of the relation."""
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    relation = "groups" if sender is User.groups.through else "permissions"
    if reverse:  # group.user_set.add(...): the members are in pk_set
        members = list(User.objects.filter(pk__in=pk_set or ()).values_list("pk", "username"))
        names = [str(instance)]
    else:
        members = [(instance.pk, instance.username)]
        related = getattr(instance, relation if relation == "groups" else "user_permissions")
        if action == "pre_clear":
            names = [str(item) for item in related.all()]
        else:
            names = [str(item) for item in related.model.objects.filter(pk__in=pk_set or ())]
    if not names:
        return
    change = {"post_add": "added", "post_remove": "removed", "pre_clear": "removed"}[action]
    for member_id, username in members:
        audit.event(
            "role_changed",
            subject_id=member_id,
            subject=username,
            changes={relation: {change: sorted(names)}},
        )


_ADMIN_ACTIONS = {ADDITION: "added", CHANGE: "changed", DELETION: "deleted"}


def audit_admin_action(sender: Any, instance: LogEntry, created: bool, **kwargs: Any) -> None:
    if not created:
        return
    content_type = instance.content_type
    audit.event(
        "admin_action",
        actor=instance.user,
        action=_ADMIN_ACTIONS.get(instance.action_flag, str(instance.action_flag)),
        content_type=f"{content_type.app_label}.{content_type.model}" if content_type else None,
        object_id=instance.object_id,
        object_repr=instance.object_repr,
        change=instance.get_change_message(),
    )


def remove_export_file(sender: type[DataExport], instance: DataExport, **kwargs: Any) -> None:
    """An export's ZIP goes with its row, however the row goes (the cleanup, a newer export, the
    member leaving by their page or the admin, a cascade from the shell): once that is committed,
    as a rollback must not leave a row without its file."""
    if instance.file:
        name = instance.file
        transaction.on_commit(lambda: exports.remove(name), robust=True)
