"""Bearer tokens (the API's DEFAULT_AUTHENTICATION_CLASSES): simplejwt's check, with the member's row
read by one prepared statement instead of a queryset built and compiled on every request, and a
token's signature checked once per process (its expiry at every request).

The row is still read from the database on every request, so a deactivated member is refused at
once, as before; the statement and the columns are worked out once per process."""

from __future__ import annotations

import functools

from django.contrib.auth import get_user_model
from django.db import connections, router
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import aware_utcnow, get_md5_hash_password


@functools.cache
def _user_statement(alias: str) -> tuple[str, tuple[str, ...], tuple]:
    """The statement, the attribute names in its column order, and each column's converters (what
    the ORM applies to a value as read: a JSON field's text, SQLite's dates)."""
    model, connection = get_user_model(), connections[alias]
    quote = connection.ops.quote_name
    fields = model._meta.concrete_fields
    columns = ", ".join(quote(field.column) for field in fields)
    key = quote(model._meta.get_field(api_settings.USER_ID_FIELD).column)
    sql = f"SELECT {columns} FROM {quote(model._meta.db_table)} WHERE {key} = %s"  # noqa: S608
    converters = []
    for index, field in enumerate(fields):
        column = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converters.append((index, column, tuple(found)))
    return sql, tuple(field.attname for field in fields), tuple(converters)


def user_by_id(user_id: object):
    """The member with this id as the token names it (the row as it is now), or None."""
    model = get_user_model()
    try:
        pk = model._meta.get_field(api_settings.USER_ID_FIELD).to_python(user_id)
    except Exception:  # a claim that is no id names no one
        return None
    alias = router.db_for_read(model)
    connection = connections[alias]
    sql, fields, converters = _user_statement(alias)
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for index, column, functions in converters:
        for function in functions:
            values[index] = function(values[index], column, connection)
    return model.from_db(alias, fields, values)


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
                del _CHECKED[raw_token]
            else:
                return token
        token = super().get_validated_token(raw_token)
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[raw_token] = token
        return token

    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as error:
            raise InvalidToken(_("Token contained no recognizable user identification")) from error
        user = user_by_id(user_id)
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(
                _("The user's password has been changed."), code="password_changed"
            )
        return user


class BearerScheme(SimpleJWTScheme):
    """The schema's `jwtAuth`, as drf-spectacular describes simplejwt's own class."""

    target_class = BearerAuthentication
