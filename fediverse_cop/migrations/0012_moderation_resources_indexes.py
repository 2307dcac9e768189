from tortoise import migrations
from tortoise.migrations import operations as ops
from fediverse_cop.ids import new_id
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0011_communities')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Resource',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('community', fields.ForeignKeyField('models.Account', source_field='community_id', db_constraint=True, to_field='id', related_name='resources', on_delete=OnDelete.CASCADE)),
                ('status', fields.ForeignKeyField('models.Status', source_field='status_id', unique=True, db_constraint=True, to_field='id', related_name='resource', on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(max_length=255)),
                ('description', fields.TextField(default='', unique=False)),
                ('link', fields.CharField(null=True, max_length=2048)),
                ('licence', fields.CharField(default='', max_length=255)),
                ('tags', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('added_by', fields.ForeignKeyField('models.Account', source_field='added_by_id', null=True, db_constraint=True, to_field='id', related_name='resources_added', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'resources', 'app': 'models', 'indexes': [Index(fields=['community_id', 'id'])], 'pk_attr': 'id', 'table_description': "A resource in a community's library: a community-authored post (``status``) with the"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Poll',
            name='hide_totals',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Report',
            name='category',
            field=fields.CharField(default='other', db_default='other', max_length=16),
        ),
        ops.AddField(
            model_name='Report',
            name='community',
            field=fields.ForeignKeyField('models.Account', source_field='community_id', null=True, db_constraint=True, to_field='id', related_name='community_reports', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='Report',
            name='forwarded',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Report',
            name='resolved_by',
            field=fields.ForeignKeyField('models.Account', source_field='resolved_by_id', null=True, db_constraint=True, to_field='id', related_name='reports_resolved', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Report',
            name='rule_ids',
            field=fields.JSONField(default=list, db_default=[], encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='Status',
            name='accepted_answer',
            field=fields.ForeignKeyField('models.Status', source_field='accepted_answer_id', null=True, db_constraint=True, to_field='id', related_name='answer_to', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Status',
            name='locked_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Status',
            name='removal_reason',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.AddField(
            model_name='Status',
            name='removed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='Status',
            index=Index(fields=['audience', 'id']),
        ),
        ops.AddIndex(
            model_name='Status',
            index=Index(fields=['reblog_of_id', 'id']),
        ),
        ops.AddIndex(
            model_name='Status',
            index=Index(fields=['in_reply_to_id', 'id']),
        ),
        ops.AddIndex(
            model_name='StatusMention',
            index=Index(fields=['account_id', 'status_id']),
        ),
    ]
