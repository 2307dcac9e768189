from tortoise import migrations
from tortoise.migrations import operations as ops
from fediverse_cop.ids import new_id
from fediverse_cop.models.enums import Visibility
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_inbox')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Status',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('uri', fields.CharField(unique=True, max_length=2048)),
                ('url', fields.CharField(null=True, max_length=2048)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='statuses', on_delete=OnDelete.CASCADE)),
                ('local', fields.BooleanField(default=False)),
                ('object_type', fields.CharField(default='Note', max_length=32)),
                ('in_reply_to_uri', fields.CharField(null=True, db_index=True, max_length=2048)),
                ('in_reply_to', fields.ForeignKeyField('models.Status', source_field='in_reply_to_id', null=True, db_constraint=True, to_field='id', related_name='replies', on_delete=OnDelete.SET_NULL)),
                ('reblog_of', fields.ForeignKeyField('models.Status', source_field='reblog_of_id', null=True, db_constraint=True, to_field='id', related_name='reblogs', on_delete=OnDelete.CASCADE)),
                ('content', fields.TextField(default='', unique=False)),
                ('text', fields.TextField(default='', unique=False)),
                ('summary', fields.TextField(default='', unique=False)),
                ('sensitive', fields.BooleanField(default=False)),
                ('visibility', fields.CharEnumField(default=Visibility.PUBLIC, description='PUBLIC: public\nUNLISTED: unlisted\nPRIVATE: private\nDIRECT: direct', enum_type=Visibility, max_length=16)),
                ('language', fields.CharField(null=True, max_length=16)),
                ('to', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('cc', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('audience', fields.CharField(null=True, max_length=2048)),
                ('attachments', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('published_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('edited_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'statuses', 'app': 'models', 'indexes': [Index(fields=['account_id', 'id']), Index(fields=['visibility', 'local', 'id'])], 'pk_attr': 'id', 'table_description': 'A post (Note, Question, Page, Article), local or remote, or a boost of one.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Favourite',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='favourites', on_delete=OnDelete.CASCADE)),
                ('status', fields.ForeignKeyField('models.Status', source_field='status_id', db_constraint=True, to_field='id', related_name='favourites', on_delete=OnDelete.CASCADE)),
                ('uri', fields.CharField(null=True, unique=True, max_length=2048)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'favourites', 'app': 'models', 'unique_together': (('account', 'status'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StatusEdit',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('status', fields.ForeignKeyField('models.Status', source_field='status_id', db_constraint=True, to_field='id', related_name='edits', on_delete=OnDelete.CASCADE)),
                ('content', fields.TextField(default='', unique=False)),
                ('summary', fields.TextField(default='', unique=False)),
                ('sensitive', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'status_edits', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A previous version of an edited post (the edit history).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StatusMention',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('status', fields.ForeignKeyField('models.Status', source_field='status_id', db_constraint=True, to_field='id', related_name='mentions', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='mentioned_in', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'status_mentions', 'app': 'models', 'unique_together': (('status', 'account'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Tag',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=255)),
            ],
            options={'table': 'tags', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StatusTag',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('status', fields.ForeignKeyField('models.Status', source_field='status_id', db_constraint=True, to_field='id', related_name='status_tags', on_delete=OnDelete.CASCADE)),
                ('tag', fields.ForeignKeyField('models.Tag', source_field='tag_id', db_constraint=True, to_field='id', related_name='status_tags', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'status_tags', 'app': 'models', 'unique_together': (('status', 'tag'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Tombstone',
            fields=[
                ('uri', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=2048)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', null=True, db_constraint=True, to_field='id', related_name='tombstones', on_delete=OnDelete.CASCADE)),
                ('deleted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'tombstones', 'app': 'models', 'pk_attr': 'uri', 'table_description': 'An object deleted by its owner, remembered so that a late Create is ignored.'},
            bases=['Model'],
        ),
    ]
