from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """Indexes every timeline query uses: suspended accounts and groups among all known
    accounts (scanned whole before), and what an account follows, read from the index."""

    dependencies = [("models", "0016_account_aliases")]

    initial = False

    operations = [
        ops.AddIndex(model_name="Account", index=Index(fields=["suspended_at"])),
        ops.AddIndex(model_name="Account", index=Index(fields=["actor_type", "id"])),
        ops.AddIndex(
            model_name="Follow", index=Index(fields=["account_id", "state", "target_id"])
        ),
    ]
