from tortoise import migrations
from tortoise.migrations import operations as ops
from fediverse_cop.ids import new_id
from fediverse_cop.models.enums import InboxState
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_delivery_queue')]

    initial = False

    operations = [
        ops.CreateModel(
            name='InboxItem',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('activity_id', fields.CharField(unique=True, max_length=2048)),
                ('activity', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('actor', fields.ForeignKeyField('models.Account', source_field='actor_id', db_constraint=True, to_field='id', related_name='inbox_items', on_delete=OnDelete.CASCADE)),
                ('recipient', fields.ForeignKeyField('models.Account', source_field='recipient_id', null=True, db_constraint=True, to_field='id', related_name='received_items', on_delete=OnDelete.SET_NULL)),
                ('state', fields.CharEnumField(default=InboxState.PENDING, description='PENDING: pending\nDONE: done\nUNHANDLED: unhandled\nFAILED: failed', enum_type=InboxState, max_length=16)),
                ('handled_as', fields.CharField(default='', max_length=64)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('claim_token', fields.CharField(null=True, db_index=True, max_length=32)),
                ('error', fields.TextField(default='', unique=False)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('processed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'inbox_items', 'app': 'models', 'indexes': [Index(fields=['state', 'next_attempt_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
