from tortoise import migrations
from tortoise.migrations import operations as ops
from fediverse_cop.models.enums import JobState
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0008_key_id_index')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='FanoutJob',
            name='state',
            field=fields.CharEnumField(default=JobState.PENDING, db_index=True, description='PENDING: pending\nDONE: done\nFAILED: failed', enum_type=JobState, max_length=16),
        ),
    ]
