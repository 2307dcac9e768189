from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0012_moderation_resources_indexes')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Favourite',
            index=Index(fields=['status_id', 'account_id']),
        ),
        ops.AddIndex(
            model_name='Status',
            index=Index(fields=['account_id', 'deleted_at', 'published_at']),
        ),
    ]
