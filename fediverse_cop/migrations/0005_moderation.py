from tortoise import migrations
from tortoise.migrations import operations as ops
from fediverse_cop.ids import new_id
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_statuses')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AccountBlock',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='blocking', on_delete=OnDelete.CASCADE)),
                ('target', fields.ForeignKeyField('models.Account', source_field='target_id', db_constraint=True, to_field='id', related_name='blocked_by', on_delete=OnDelete.CASCADE)),
                ('uri', fields.CharField(null=True, unique=True, max_length=2048)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'account_blocks', 'app': 'models', 'unique_together': (('account', 'target'),), 'pk_attr': 'id', 'table_description': '``account`` blocks ``target``: no follows between them, no interactions.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Report',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('reporter', fields.ForeignKeyField('models.Account', source_field='reporter_id', db_constraint=True, to_field='id', related_name='reports_made', on_delete=OnDelete.CASCADE)),
                ('target', fields.ForeignKeyField('models.Account', source_field='target_id', db_constraint=True, to_field='id', related_name='reports_received', on_delete=OnDelete.CASCADE)),
                ('status_uris', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('comment', fields.TextField(default='', unique=False)),
                ('uri', fields.CharField(null=True, unique=True, max_length=2048)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'reports', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A report (``Flag``) about an account and some of its posts, for local moderators.'},
            bases=['Model'],
        ),
    ]
