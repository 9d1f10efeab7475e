from django.contrib import admin

from classifiers.models import ClassifierVersion, TrainingRun


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin[TrainingRun]):
    list_display = [
        "id",
        "campaign",
        "target",
        "backend",
        "status",
        "trigger",
        "n_labels",
        "device",
    ]
    list_filter = ["status", "backend", "target"]
    # The snapshot id lists can be long; the admin shows them read-only.
    readonly_fields = [
        "train_item_ids",
        "calibration_item_ids",
        "eval_item_ids",
        "labels_sha256",
        "metrics",
        "library_versions",
        "error",
    ]


@admin.register(ClassifierVersion)
class ClassifierVersionAdmin(admin.ModelAdmin[ClassifierVersion]):
    list_display = ["id", "name", "campaign", "target", "is_active", "promoted", "n_predictions"]
    list_filter = ["is_active", "target"]
    readonly_fields = ["decision", "baseline_metrics"]
