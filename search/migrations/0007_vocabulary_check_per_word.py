from django.db import migrations

# The vocabulary triggers of 0005 checked every word a statement took away in one query, whose
# plan could not tell a common word from a rare one: a bitmap of all of each word's matches from the
# GIN index (about 1 ms a word at 50,000 workbooks, 46 words for an unpublished workbook: 50 ms,
# growing with the table). Each word is now checked by a query of its own with the word a constant,
# so PostgreSQL plans with its frequency: a common word is found among the newest entries by the
# date index at once, a rare one from its few GIN matches. Words are taken in sorted order, so two
# statements removing the same words wait for each other in one order, never in a cycle.
FORGET = r"""
CREATE OR REPLACE FUNCTION search_lexeme_forget(words text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    word text;
    held boolean;
BEGIN
    FOR word IN
        SELECT l.lexeme FROM search_lexeme l WHERE l.lexeme = ANY (words) ORDER BY 1
    LOOP
        EXECUTE format(
            'SELECT EXISTS (SELECT 1 FROM search_entry WHERE published_at IS NOT NULL'
            ' AND vector @@ %L::tsquery)',
            '''' || replace(replace(word, '\', '\\'), '''', '''''') || ''''
        ) INTO held;
        IF NOT held THEN
            DELETE FROM search_lexeme WHERE lexeme = word;
        END IF;
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION search_lexeme_forget_unused() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM search_lexeme_forget(ARRAY(
        SELECT unnest(tsvector_to_array(o.vector)) FROM search_entry_before o
        WHERE o.published_at IS NOT NULL
        EXCEPT
        SELECT unnest(tsvector_to_array(n.vector)) FROM search_entry_after n
        WHERE n.published_at IS NOT NULL
    ));
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION search_lexeme_forget_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM search_lexeme_forget(ARRAY(
        SELECT DISTINCT unnest(tsvector_to_array(o.vector)) FROM search_entry_before o
        WHERE o.published_at IS NOT NULL
    ));
    RETURN NULL;
END $$;
"""


def _previous():
    from importlib import import_module

    return import_module("search.migrations.0005_vocabulary_forgets_unused_words").FORGET


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(FORGET)  # no parameters: the body's quotes and % stay as written


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            # 0005's functions again (its statement also creates its triggers: drop them first).
            cursor.execute(
                "DROP TRIGGER search_entry_updated_forget_words ON search_entry;"
                "DROP TRIGGER search_entry_deleted_forget_words ON search_entry;"
            )
            cursor.execute(_previous())
            cursor.execute("DROP FUNCTION search_lexeme_forget(text[])")


class Migration(migrations.Migration):
    dependencies = [("search", "0006_entries_of_inactive_authors")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
