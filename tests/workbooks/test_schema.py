"""The workbook table as the migrations leave it, on PostgreSQL and on SQLite."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_the_workbook_table_has_no_search_vector_or_its_index():
    """Search reads its own table (search.Entry): the workbook row's old vector and its GIN index
    are dropped (workbooks/migrations/0007), and with them any plain index of that name a table
    rebuilt on SQLite had recreated."""
    with connection.cursor() as cursor:
        columns = {
            column.name
            for column in connection.introspection.get_table_description(
                cursor, "workbooks_workbook"
            )
        }
        constraints = connection.introspection.get_constraints(cursor, "workbooks_workbook")

    assert "title" in columns
    assert "search_vector" not in columns
    assert "workbook_search_idx" not in constraints
    assert not [name for name, info in constraints.items() if "search_vector" in info["columns"]]
