from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_user_sessions_generation"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="session_fence",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
    ]
