from django.apps import AppConfig


class CoreConfig(AppConfig):
    """core is an app only for what needs one: the migration that makes the cache table."""

    name = "core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"
