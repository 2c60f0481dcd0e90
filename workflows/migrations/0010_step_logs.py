from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("workflows", "0009_idempotency_keys")]

    operations = [
        # Step logs (issue 18): a constant database default, so adding the column rewrites no
        # row on PostgreSQL, and the transitions' raw INSERTs that leave the column out still work.
        migrations.AddField(
            model_name="stepattempt",
            name="log",
            field=models.TextField(blank=True, db_default="", default=""),
        ),
    ]
