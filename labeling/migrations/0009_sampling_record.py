from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0008_refit_flags_expire"),
    ]

    operations = [
        migrations.AddField(
            model_name="assignment",
            name="pick",
            field=models.CharField(blank=True, default="", max_length=8),
        ),
        migrations.AddField(
            model_name="assignment",
            name="pick_probability",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="item",
            name="first_pick",
            field=models.CharField(blank=True, default="", max_length=8),
        ),
        migrations.AddField(
            model_name="item",
            name="first_pick_probability",
            field=models.FloatField(blank=True, null=True),
        ),
    ]
