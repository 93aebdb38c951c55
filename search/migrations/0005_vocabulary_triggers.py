from django.db import migrations

# The typo vocabulary (search_lexeme) holds the words of published entries only: a word leaves it
# when no published entry holds it any more (its workbook unpublished, deleted, edited, its author
# deactivated), so a search for it is corrected again, and it does not tell anyone that a workbook
# once held it. Statement-level triggers on search_entry, so every way an entry changes or goes (the
# upsert of workbooks.services, the delete cascading from a workbook, a bulk unpublish) is covered;
# new words are added by the upsert itself.
#
# Each word a statement took away is checked by a query of its own with the word a constant, so
# PostgreSQL plans with its frequency: a common word is found among the newest entries by the date
# index at once, a rare one from its few GIN matches (one query for all of them could not tell them
# apart: a bitmap of every match of each word, about 1 ms a word at 50,000 workbooks).
#
# The words are locked (FOR UPDATE, in sorted order) before they are checked. The upsert locks the
# words it keeps (FOR KEY SHARE, in the same order) until its transaction ends, so a word another
# transaction is publishing anew waits here until that commits, and the check, a statement of its
# own and so a new snapshot, then sees the new holder: the word is not lost to the race. Both sides
# take the words in one order, so they wait for each other without a cycle.
#
# Only functions and triggers: the migration takes search_entry's trigger lock for a moment. Words
# already left behind are removed by the next migration, which blocks no write.
FORGET = r"""
CREATE OR REPLACE FUNCTION search_lexeme_forget(words text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    word text;
    held boolean;
BEGIN
    FOR word IN
        SELECT l.lexeme FROM search_lexeme l WHERE l.lexeme = ANY (words) ORDER BY 1 FOR UPDATE
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

DROP TRIGGER IF EXISTS search_entry_updated_forget_words ON search_entry;
CREATE TRIGGER search_entry_updated_forget_words
AFTER UPDATE ON search_entry
REFERENCING OLD TABLE AS search_entry_before NEW TABLE AS search_entry_after
FOR EACH STATEMENT EXECUTE FUNCTION search_lexeme_forget_unused();

DROP TRIGGER IF EXISTS search_entry_deleted_forget_words ON search_entry;
CREATE TRIGGER search_entry_deleted_forget_words
AFTER DELETE ON search_entry
REFERENCING OLD TABLE AS search_entry_before
FOR EACH STATEMENT EXECUTE FUNCTION search_lexeme_forget_deleted();
"""

# Back to no triggers: the vocabulary then keeps every word it is given, as before.
BACKWARDS = """
DROP TRIGGER IF EXISTS search_entry_updated_forget_words ON search_entry;
DROP TRIGGER IF EXISTS search_entry_deleted_forget_words ON search_entry;
DROP FUNCTION IF EXISTS search_lexeme_forget_unused();
DROP FUNCTION IF EXISTS search_lexeme_forget_deleted();
DROP FUNCTION IF EXISTS search_lexeme_forget(text[]);
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
