"""Migration operations that only run on PostgreSQL; the model state is the same everywhere."""

from django.db import migrations


class AddIndexOnPostgres(migrations.AddIndex):
    """An index type only PostgreSQL has (GIN on the search vector); a no-op on SQLite."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
