from importlib import import_module

from django.db import migrations

# search_query_parts (0002) asked whether any known word starts with the last word typed with
# `lexeme LIKE word || '%'`: a pattern PL/pgSQL passes as a parameter. After its first five calls on
# a connection the function keeps one generic plan per statement, and a pattern unknown when
# planned cannot use an index: every search of a half-typed word no known word starts with (every
# typo) read the whole vocabulary, 16 ms at 50,000 workbooks, where the index answers in 0.05 ms.
# Now the first known word at or after it, in the text_pattern_ops index's byte order (every word
# it starts begins there), is read and compared: one index probe, in a generic plan as well.
# The rest of the function is unchanged.
OLD_KNOWN = r"""            known := stem IS NULL OR length(word) < 4 OR EXISTS (
                SELECT 1 FROM search_lexeme
                WHERE lexeme LIKE replace(word, '_', '\_') || '%'
                   OR lexeme LIKE replace(stem, '_', '\_') || '%'
            );"""
NEW_KNOWN = r"""            -- A word some known word starts with: the first at or after it starts with it.
            known := stem IS NULL OR length(word) < 4 OR EXISTS (
                SELECT 1 FROM unnest(ARRAY[word, stem]) AS typed (prefix)
                WHERE starts_with((SELECT lexeme FROM search_lexeme
                                   WHERE lexeme ~>=~ typed.prefix
                                   ORDER BY lexeme USING ~<~ LIMIT 1), typed.prefix)
            );"""


def _function(new: bool) -> str:
    old = import_module("search.migrations.0002_search_query_parts").SEARCH_QUERY_PARTS
    assert OLD_KNOWN in old
    return old.replace(OLD_KNOWN, NEW_KNOWN) if new else old


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(_function(new=True))  # no parameters: % and LIKE patterns stay as written


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(_function(new=False))


class Migration(migrations.Migration):
    dependencies = [("search", "0007_gin_indexes_without_pending_lists")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
