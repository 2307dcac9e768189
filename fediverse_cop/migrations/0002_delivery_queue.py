from tortoise import migrations
from tortoise.migrations import operations as ops
from fediverse_cop.ids import new_id
from fediverse_cop.models.enums import DeliveryState, FollowState, JobState
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DomainHealth',
            fields=[
                ('domain', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255)),
                ('failure_days', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('unavailable_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('consecutive_failures', fields.IntField(default=0)),
                ('circuit_open_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_success_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_failure_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'domain_health', 'app': 'models', 'pk_attr': 'domain', 'table_description': 'Delivery health of one remote domain: failure days, unavailability, circuit breaker.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FanoutJob',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('sender', fields.ForeignKeyField('models.Account', source_field='sender_id', db_constraint=True, to_field='id', related_name='fanout_jobs', on_delete=OnDelete.CASCADE)),
                ('activity', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('recipients', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('ordering_key', fields.CharField(default='', max_length=2048)),
                ('state', fields.CharEnumField(default=JobState.PENDING, db_index=True, description='PENDING: pending\nDONE: done', enum_type=JobState, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('claim_token', fields.CharField(null=True, db_index=True, max_length=32)),
                ('last_error', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'fanout_jobs', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One activity to send, with its recipients as given (actor URIs and collections).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Delivery',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('job', fields.ForeignKeyField('models.FanoutJob', source_field='job_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('inbox', fields.CharField(max_length=2048)),
                ('domain', fields.CharField(max_length=255)),
                ('ordering_key', fields.CharField(default='', max_length=2048)),
                ('state', fields.CharEnumField(default=DeliveryState.PENDING, description='PENDING: pending\nDELIVERED: delivered\nFAILED: failed\nGONE: gone', enum_type=DeliveryState, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('claim_token', fields.CharField(null=True, db_index=True, max_length=32)),
                ('last_status', fields.IntField(null=True)),
                ('last_error', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'deliveries', 'app': 'models', 'unique_together': (('job', 'inbox'),), 'indexes': [Index(fields=['state', 'next_attempt_at']), Index(fields=['inbox', 'ordering_key', 'state']), Index(fields=['domain', 'state'])], 'pk_attr': 'id', 'table_description': "One POST of a job's activity to one inbox, retried on its own schedule."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Follow',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='following_rows', on_delete=OnDelete.CASCADE)),
                ('target', fields.ForeignKeyField('models.Account', source_field='target_id', db_constraint=True, to_field='id', related_name='follower_rows', on_delete=OnDelete.CASCADE)),
                ('state', fields.CharEnumField(default=FollowState.PENDING, description='PENDING: pending\nACCEPTED: accepted', enum_type=FollowState, max_length=16)),
                ('uri', fields.CharField(null=True, unique=True, max_length=2048)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'follows', 'app': 'models', 'unique_together': (('account', 'target'),), 'indexes': [Index(fields=['target_id', 'state', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
