from django.apps import AppConfig


class ClassifiersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "classifiers"
