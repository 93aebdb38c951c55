from django.db import migrations

# The search query's parts, one per word typed, as tsquery text (docs/search.md): the caller builds
# the query once per search from them (workbooks.selectors._query), caches it, and passes it to the
# main query as a constant, so PostgreSQL plans with the words' own frequencies. Each word matches
# as written; the last one as a prefix of what was typed or of its stem (so a half-typed stop word,
# "revenue s", still narrows); a word of 4 letters or more that no workbook has ever held also
# matches the nearest word that one has (1 edit for 4 letters, 2 from 5; a swapped pair, "chrun",
# is the nearest kind). A stop word that is not the last gives NULL: it matches nothing to narrow.
SEARCH_QUERY_PARTS = r"""
CREATE OR REPLACE FUNCTION search_query_parts(config regconfig, words text[]) RETURNS text[]
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    parts text[] := '{}';
    part tsquery;
    word text;
    stem text;
    fix text;
    known boolean;
    swaps text[];
    last integer := coalesce(array_length(words, 1), 0);
BEGIN
    FOR i IN 1..last LOOP
        word := words[i];
        -- The word as the vectors hold it (stemmed); NULL for a stop word.
        SELECT min(l) INTO stem FROM unnest(tsvector_to_array(to_tsvector(config, word))) AS l;
        IF i = last THEN
            part := to_tsquery('simple', quote_literal(word) || ':*');
            IF stem IS NOT NULL AND stem <> word THEN
                part := part || to_tsquery('simple', quote_literal(stem) || ':*');
            END IF;
            known := stem IS NULL OR length(word) < 4 OR EXISTS (
                SELECT 1 FROM search_lexeme
                WHERE lexeme LIKE replace(word, '_', '\_') || '%'
                   OR lexeme LIKE replace(stem, '_', '\_') || '%'
            );
        ELSE
            part := to_tsquery(config, quote_literal(word));
            known := stem IS NULL OR length(word) < 4
                OR EXISTS (SELECT 1 FROM search_lexeme WHERE lexeme = stem);
        END IF;
        IF NOT known THEN
            swaps := ARRAY(
                SELECT left(stem, j - 1) || substr(stem, j + 1, 1) || substr(stem, j, 1)
                       || substr(stem, j + 2)
                FROM generate_series(1, length(stem) - 1) AS j
            );
            SELECT lexeme INTO fix FROM search_lexeme
            WHERE (lexeme % stem OR (left(lexeme, 1) = left(stem, 1)
                                     AND length(lexeme) BETWEEN length(stem) - 2 AND length(stem) + 2))
              AND levenshtein_less_equal(lexeme, stem, 2)
                  <= CASE WHEN length(stem) < 5 THEN 1 ELSE 2 END
            -- A swapped pair counts as one edit (Levenshtein counts two).
            ORDER BY CASE WHEN lexeme = ANY (swaps) THEN 1 ELSE levenshtein(lexeme, stem) END,
                     similarity(lexeme, stem) DESC, lexeme
            LIMIT 1;
            IF fix IS NOT NULL THEN
                part := part || (quote_literal(fix) || CASE WHEN i = last THEN ':*' ELSE '' END)::tsquery;
            END IF;
        END IF;
        -- An empty query (a stop word) has no text worth keeping.
        parts := parts || CASE WHEN numnode(part) = 0 THEN NULL ELSE part::text END;
    END LOOP;
    RETURN parts;
END $$;
"""

OLD_SEARCH_TSQUERY = "DROP FUNCTION IF EXISTS search_tsquery(regconfig, text[])"
DROP_SEARCH_QUERY_PARTS = "DROP FUNCTION IF EXISTS search_query_parts(regconfig, text[])"


def _old_function():
    from importlib import import_module

    return import_module("search.migrations.0001_entries_and_lexemes").SEARCH_TSQUERY


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SEARCH_QUERY_PARTS)  # no parameters: % and LIKE patterns stay as written
        cursor.execute(OLD_SEARCH_TSQUERY)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(_old_function())
        cursor.execute(DROP_SEARCH_QUERY_PARTS)


class Migration(migrations.Migration):
    dependencies = [("search", "0001_entries_and_lexemes")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
