"""The member's row, read by a statement compiled once per database: the one way both a session
(accounts.middleware) and a bearer token (accounts.api.authentication) find who is asking.

Every signed-in request reads the member's row; compiling the queryset cost several times what running
it does. The statement is the ORM's own for `User._default_manager.filter(pk=...)`, and its values are
converted as the ORM converts them (a JSON field's text, SQLite's dates), so the member is the same
instance the ORM would give, whichever way they signed in."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import connections, router

# Per database alias and vendor: the SQL, its columns' attribute names and the converters the ORM
# applies to them (one entry per database the site reads members from).
_STATEMENTS: dict[tuple[str, str], tuple[str, list[str], dict]] = {}


def read_user(pk):
    """The member with this primary key, as their row is now, or None."""
    model = get_user_model()
    alias = router.db_for_read(model)
    connection = connections[alias]
    statement = _STATEMENTS.get((alias, connection.vendor))
    if statement is None:
        compiler = model._default_manager.filter(pk=0).order_by().query.get_compiler(alias)
        sql, params = compiler.as_sql()
        fields = [column.target.attname for column, _, _ in compiler.select]
        if len(params) != 1 or fields != [f.attname for f in model._meta.concrete_fields]:
            # A manager that adds to the query: read as the ORM does.
            return model._default_manager.db_manager(alias).filter(pk=pk).first()
        converters = compiler.get_converters([column for column, _, _ in compiler.select])
        statement = _STATEMENTS[(alias, connection.vendor)] = (sql, fields, converters)
    sql, fields, converters = statement
    with connection.cursor() as cursor:
        cursor.execute(sql, [model._meta.pk.get_db_prep_value(pk, connection)])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for position, (functions, expression) in converters.items():
        value = values[position]
        for function in functions:
            value = function(value, expression, connection)
        values[position] = value
    return model.from_db(alias, fields, values)
