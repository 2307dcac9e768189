from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0007_account_moves')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Account',
            name='public_key_id',
            field=fields.CharField(null=True, db_index=True, max_length=2048),
        ),
    ]
