"""The database cache's table, so that `migrate` (make run, the test database) creates it.

The default shared cache (sign-in throttles) is Django's database cache; `createcachetable`
makes the table of every database cache in CACHES and skips tables that exist, so with Redis
(CACHE_URL=redis://...) this is a no-op. Switching to the database cache later: run
`manage.py createcachetable` (make migrate does).
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = []

    operations = [
        migrations.RunPython(create_cache_tables, migrations.RunPython.noop, elidable=False),
    ]
