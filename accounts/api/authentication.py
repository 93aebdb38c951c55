"""Bearer tokens (the API's DEFAULT_AUTHENTICATION_CLASSES): simplejwt's check, with the member's row
read by the statement a session's member is read by (accounts.rows) instead of a queryset built and
compiled on every request, and a token's signature checked once per process (its expiry at every
request).

The row is still read from the database on every request (but on the read-only lists, see below),
so a deactivated member is refused at once, as before."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import router, transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import aware_utcnow, get_md5_hash_password

from accounts import rows
from accounts.suspension import Suspended, refuse


def _member_pk(user_id: object):
    try:
        field = get_user_model()._meta.get_field(api_settings.USER_ID_FIELD)
        return field.to_python(user_id)  # type: ignore[union-attr]  # a column, not a relation
    except Exception:  # a claim that is no id names no one
        return None


def user_by_id(user_id: object):
    """The member with this id as the token names it (the row as it is now), or None: read as a
    session's member is (accounts.rows)."""
    pk = _member_pk(user_id)
    if pk is None:
        return None
    model = get_user_model()
    if model._meta.get_field(api_settings.USER_ID_FIELD) is not model._meta.pk:
        return model._default_manager.filter(**{api_settings.USER_ID_FIELD: pk}).first()
    return rows.read_user(pk)


# --- The member kept for read-only lists ----------------------------------------------------------
# A list that uses nothing of the member but who they are (their id) takes them from a copy in the
# cache, kept with the member's generation: a random token that every write of their row renews
# (`member_changed`, at once and again once committed, so a copy made from the row before a change
# committed is retired too). A deactivated or deleted member is refused at once. Were the cache to
# fail the renewal at that moment (Redis away), the copy lasts at most MEMBER_SECONDS.
MEMBER_SECONDS = 60
GENERATION_SECONDS = 3600


def _member_key(pk) -> str:
    return f"accounts:bearer-member:{pk}"


def _generation_key(pk) -> str:
    return f"accounts:bearer-generation:{pk}"


def member_changed(pk) -> None:
    """The member's row changed (or is gone): any copy kept of it is retired."""
    cache.set(_generation_key(pk), secrets.token_hex(8), GENERATION_SECONDS)


def member_row_written(sender, instance, **kwargs) -> None:
    """A member's row saved or deleted, by any path (accounts.receivers connects it to the User
    model's own signals): their kept copy is retired now and once the write commits."""
    pk = instance.pk
    member_changed(pk)
    transaction.on_commit(lambda: member_changed(pk), robust=True)


def kept_user_by_id(user_id: object):
    """As `user_by_id`, from the kept copy while the member's generation is the one it was made
    with; else read (after the generation) and kept.

    The copy holds only what the check needs, the id, `is_active` and `suspended_until` (never
    the password hash, a second factor's secret or the email): the member is rebuilt with every
    other field deferred, so code that touches one reads it from the database, as it is now."""
    pk = _member_pk(user_id)
    if pk is None:
        return None
    model = get_user_model()
    member_key, generation_key = _member_key(pk), _generation_key(pk)
    found = cache.get_many([member_key, generation_key])
    generation, kept = found.get(generation_key), found.get(member_key)
    if generation is not None and isinstance(kept, tuple) and len(kept) == 4:
        made_with, kept_pk, is_active, suspended_until = kept
        if made_with == generation and kept_pk == pk and isinstance(is_active, bool):
            return _partial_member(model, kept_pk, is_active, suspended_until)
    if generation is None:
        cache.add(generation_key, secrets.token_hex(8), GENERATION_SECONDS)
        generation = cache.get(generation_key)
    user = user_by_id(pk)
    if user is None:
        return None
    if generation is not None:  # else the cache cannot say: nothing is kept
        kept = (generation, getattr(user, _id_attname()), user.is_active, user.suspended_until)
        cache.set(member_key, kept, MEMBER_SECONDS)
    return user


def _id_attname() -> str:
    field = get_user_model()._meta.get_field(api_settings.USER_ID_FIELD)
    return field.attname  # type: ignore[union-attr]  # a column, not a relation


def _partial_member(model, pk, is_active: bool, suspended_until):
    """The member with only their id, `is_active` and `suspended_until` loaded (the others
    deferred)."""
    known = {_id_attname(): pk, "is_active": is_active, "suspended_until": suspended_until}
    names = [field.attname for field in model._meta.concrete_fields if field.attname in known]
    return model.from_db(router.db_for_read(model), names, [known[name] for name in names])


# Access tokens whose signature and claims this process has checked, by the token as sent: only a
# shortcut (a plain bounded dict, emptied when full). Access tokens are not revocable (see
# accounts.tokens), so nothing but their expiry changes after they are checked.
_CHECKED: dict[bytes, Token] = {}
_CHECKED_MAX = 10_000


class BearerAuthentication(JWTAuthentication):
    def get_validated_token(self, raw_token: bytes) -> Token:
        token = _CHECKED.get(raw_token)
        if token is not None:
            try:
                token.check_exp(current_time=aware_utcnow())
            except TokenError:
                _CHECKED.pop(raw_token, None)  # (another thread may have dropped it)
            else:
                return token
        token = super().get_validated_token(raw_token)
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[raw_token] = token
        return token

    def find_user(self, user_id: object):
        return user_by_id(user_id)

    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as error:
            raise InvalidToken(_("Token contained no recognizable user identification")) from error
        user = self.find_user(user_id)
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        try:
            # A token issued before the suspension is refused until it ends: a 403, since signing
            # in again cannot help before then.
            refuse(user)
        except Suspended as error:
            raise exceptions.PermissionDenied(str(error), code=error.code) from None
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(
                _("The user's password has been changed."), code="password_changed"
            )
        return user


class KeptMemberAuthentication(BearerAuthentication):
    """For a read-only list that uses nothing of the member but who they are: the member from
    their kept copy (`kept_user_by_id`)."""

    def find_user(self, user_id: object):
        return kept_user_by_id(user_id)


def for_reads(view, authenticators: list) -> list:
    """A read-only list's authenticators: on a GET, a bearer's member from their kept copy. (The
    schema describes the one bearer scheme.)"""
    request = getattr(view, "request", None)
    if getattr(view, "swagger_fake_view", False) or getattr(request, "method", None) != "GET":
        return authenticators
    return [
        KeptMemberAuthentication() if type(each) is BearerAuthentication else each
        for each in authenticators
    ]


class BearerScheme(SimpleJWTScheme):
    """The schema's `jwtAuth`, as drf-spectacular describes simplejwt's own class."""

    target_class = BearerAuthentication  # type: ignore[assignment]  # a class does, as a path does
    match_subclasses = True
