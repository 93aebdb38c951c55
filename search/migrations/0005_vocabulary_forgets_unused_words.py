from django.db import migrations

# The typo vocabulary (search_lexeme) holds the words of published entries only: a word leaves it
# when no published entry holds it any more (its workbook unpublished, deleted, or edited), so a
# search for it is corrected again, and it does not tell anyone that a workbook once held it.
# Statement-level triggers on search_entry, so every way an entry changes or goes (the upsert of
# workbooks.services, the delete cascading from a workbook, a bulk unpublish) is covered, each
# statement checking each word it may have taken away once. New words are added by the upsert
# itself. Checked against the GIN index: a word still held is found at its first match.
FORGET = r"""
CREATE OR REPLACE FUNCTION search_lexeme_forget_unused() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM search_lexeme l
    WHERE l.lexeme IN (
        SELECT unnest(tsvector_to_array(o.vector)) FROM search_entry_before o
        WHERE o.published_at IS NOT NULL
        EXCEPT
        SELECT unnest(tsvector_to_array(n.vector)) FROM search_entry_after n
        WHERE n.published_at IS NOT NULL
    )
    AND NOT EXISTS (
        SELECT 1 FROM search_entry e
        WHERE e.published_at IS NOT NULL
          AND e.vector @@ ('''' || replace(replace(l.lexeme, '\', '\\'), '''', '''''') || '''')::tsquery
    );
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION search_lexeme_forget_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM search_lexeme l
    WHERE l.lexeme IN (
        SELECT unnest(tsvector_to_array(o.vector)) FROM search_entry_before o
        WHERE o.published_at IS NOT NULL
    )
    AND NOT EXISTS (
        SELECT 1 FROM search_entry e
        WHERE e.published_at IS NOT NULL
          AND e.vector @@ ('''' || replace(replace(l.lexeme, '\', '\\'), '''', '''''') || '''')::tsquery
    );
    RETURN NULL;
END $$;

CREATE TRIGGER search_entry_updated_forget_words
AFTER UPDATE ON search_entry
REFERENCING OLD TABLE AS search_entry_before NEW TABLE AS search_entry_after
FOR EACH STATEMENT EXECUTE FUNCTION search_lexeme_forget_unused();

CREATE TRIGGER search_entry_deleted_forget_words
AFTER DELETE ON search_entry
REFERENCING OLD TABLE AS search_entry_before
FOR EACH STATEMENT EXECUTE FUNCTION search_lexeme_forget_deleted();

-- Words left behind until now (0004 removed the drafts' words once).
DELETE FROM search_lexeme WHERE lexeme NOT IN (
    SELECT DISTINCT unnest(tsvector_to_array(vector)) FROM search_entry
    WHERE published_at IS NOT NULL
);
"""

BACKWARDS = """
DROP TRIGGER IF EXISTS search_entry_updated_forget_words ON search_entry;
DROP TRIGGER IF EXISTS search_entry_deleted_forget_words ON search_entry;
DROP FUNCTION IF EXISTS search_lexeme_forget_unused();
DROP FUNCTION IF EXISTS search_lexeme_forget_deleted();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(FORGET)  # no parameters: the body's quotes and % stay as written


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARDS)


class Migration(migrations.Migration):
    dependencies = [("search", "0004_vocabulary_of_published_words")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
