import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.contrib.postgres.operations import CreateExtension, TrigramExtension
from django.db import migrations, models

# The search query from the words typed (docs/search.md): every word must match, the last one as a
# prefix of what was typed or of its stem (so a half-typed stop word, "revenue s", still narrows);
# a word of 4 letters or more that no workbook has ever held also matches the nearest word that one
# has (1 edit for 4 letters, 2 from 5; a swapped pair, "chrun", is the nearest kind).
# STABLE: it reads the vocabulary; callers put it in a sub-select so it runs once per query.
SEARCH_TSQUERY = r"""
CREATE OR REPLACE FUNCTION search_tsquery(config regconfig, words text[]) RETURNS tsquery
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    result tsquery;
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
        result := CASE WHEN result IS NULL THEN part ELSE result && part END;
    END LOOP;
    RETURN result;  -- NULL without words: matches nothing
END $$;
"""

# Entries and vocabulary of the workbooks already there (the same vector as workbooks.services makes).
BACKFILL = """
INSERT INTO search_entry (workbook_id, author_id, published_at, vector)
SELECT w.id, w.author_id, CASE WHEN w.status = 'published' THEN w.published_at END,
       setweight(to_tsvector(%(config)s::regconfig, coalesce(w.title, '')), 'A')
       || setweight(to_tsvector(%(config)s::regconfig, coalesce(
              (SELECT string_agg(t.name, ' ') FROM workbooks_workbook_tags wt
               JOIN workbooks_tag t ON t.id = wt.tag_id WHERE wt.workbook_id = w.id), '')), 'B')
       || setweight(to_tsvector(%(config)s::regconfig, coalesce(w.description_text, '')), 'C')
       || setweight(to_tsvector(%(config)s::regconfig, coalesce(u.full_name, '')), 'C')
       || setweight(to_tsvector(%(config)s::regconfig, u.username), 'C')
FROM workbooks_workbook w JOIN accounts_user u ON u.id = w.author_id
ON CONFLICT (workbook_id) DO NOTHING
"""
LEXEMES = """
INSERT INTO search_lexeme (lexeme)
SELECT DISTINCT unnest(tsvector_to_array(vector)) FROM search_entry ORDER BY 1
ON CONFLICT DO NOTHING
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        # Not in the model's Meta: SQLite has no trigram operator class.
        cursor.execute(
            "CREATE INDEX search_lexeme_trgm_idx ON search_lexeme USING gin (lexeme gin_trgm_ops)"
        )
        cursor.execute(SEARCH_TSQUERY)  # no parameters: the body's % and LIKE patterns stay as written
        cursor.execute(BACKFILL, {"config": settings.SEARCH_CONFIG})
        cursor.execute(LEXEMES)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS search_tsquery(regconfig, text[])")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("workbooks", "0006_related_workbooks_and_views_without_row_locks"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # No-ops on SQLite, whose search is a plain match (workbooks.selectors.search).
        TrigramExtension(),
        CreateExtension("fuzzystrmatch"),
        migrations.CreateModel(
            name="Lexeme",
            fields=[
                ("lexeme", models.TextField(primary_key=True, serialize=False)),
            ],
            options={
                "db_table": "search_lexeme",
                "indexes": [
                    models.Index(
                        django.db.models.functions.text.Left("lexeme", 1),
                        django.db.models.functions.text.Length("lexeme"),
                        name="search_lexeme_shape_idx",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="Entry",
            fields=[
                (
                    "workbook",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search_entry",
                        serialize=False,
                        to="workbooks.workbook",
                    ),
                ),
                ("published_at", models.DateTimeField(null=True)),
                ("vector", django.contrib.postgres.search.SearchVectorField()),
                (
                    "author",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "entries",
                "db_table": "search_entry",
                "indexes": [
                    django.contrib.postgres.indexes.GinIndex(
                        fields=["vector"], name="search_entry_vector_idx"
                    ),
                    models.Index(
                        models.OrderBy(models.F("published_at"), descending=True),
                        models.OrderBy(models.F("workbook"), descending=True),
                        condition=models.Q(("published_at__isnull", False)),
                        name="search_entry_newest_idx",
                    ),
                ],
            },
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
