from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """Web Push subscriptions say whether they follow the RFCs (``standard``) or the drafts
    Mastodon sent before 4.4. Existing rows were sent RFC 8291 messages: they keep that."""

    dependencies = [("models", "0014_user_preferences")]

    initial = False

    operations = [
        ops.AddField(
            model_name="PushSubscription",
            name="standard",
            field=fields.BooleanField(default=False, db_default=True),
        ),
    ]
