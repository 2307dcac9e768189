from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_account_deletion')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Account',
            name='moved_to',
            field=fields.ForeignKeyField('models.Account', source_field='moved_to_id', null=True, db_constraint=True, to_field='id', related_name='moved_from', on_delete=OnDelete.SET_NULL),
        ),
    ]
