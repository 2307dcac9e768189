from tortoise import migrations
from tortoise.migrations import operations as ops
from fediverse_cop.ids import new_id
from fediverse_cop.models.enums import MediaType, NotificationType, Visibility
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0009_job_failed_state')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Bookmark',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='bookmarks', on_delete=OnDelete.CASCADE)),
                ('status', fields.ForeignKeyField('models.Status', source_field='status_id', db_constraint=True, to_field='id', related_name='bookmarks', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'bookmarks', 'app': 'models', 'unique_together': (('account', 'status'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IdempotencyKey',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='idempotency_keys', on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(max_length=255)),
                ('status', fields.ForeignKeyField('models.Status', source_field='status_id', db_constraint=True, to_field='id', related_name='idempotency_keys', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'idempotency_keys', 'app': 'models', 'unique_together': (('account', 'key'),), 'pk_attr': 'id', 'table_description': '``Idempotency-Key`` of ``POST /api/v1/statuses``: the same key gives the same status.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MediaAttachment',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='media', on_delete=OnDelete.CASCADE)),
                ('status', fields.ForeignKeyField('models.Status', source_field='status_id', null=True, db_constraint=True, to_field='id', related_name='media', on_delete=OnDelete.SET_NULL)),
                ('type', fields.CharEnumField(default=MediaType.UNKNOWN, description='IMAGE: image\nGIFV: gifv\nVIDEO: video\nAUDIO: audio\nUNKNOWN: unknown', enum_type=MediaType, max_length=16)),
                ('content_type', fields.CharField(default='application/octet-stream', max_length=128)),
                ('file_name', fields.CharField(null=True, max_length=255)),
                ('thumbnail_name', fields.CharField(null=True, max_length=255)),
                ('remote_url', fields.CharField(null=True, max_length=2048)),
                ('size', fields.BigIntField(default=0)),
                ('sha256', fields.CharField(null=True, max_length=64)),
                ('description', fields.TextField(default='', unique=False)),
                ('blurhash', fields.CharField(null=True, max_length=128)),
                ('focus_x', fields.FloatField(default=0.0)),
                ('focus_y', fields.FloatField(default=0.0)),
                ('meta', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('position', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'media_attachments', 'app': 'models', 'indexes': [Index(fields=['status_id', 'position'])], 'pk_attr': 'id', 'table_description': 'An uploaded file (local) stored under a server-chosen name, or a remote attachment.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('from_account', fields.ForeignKeyField('models.Account', source_field='from_account_id', db_constraint=True, to_field='id', related_name='notifications_caused', on_delete=OnDelete.CASCADE)),
                ('type', fields.CharEnumField(description='MENTION: mention\nSTATUS: status\nREBLOG: reblog\nFOLLOW: follow\nFOLLOW_REQUEST: follow_request\nFAVOURITE: favourite\nPOLL: poll\nUPDATE: update\nADMIN_SIGN_UP: admin.sign_up\nADMIN_REPORT: admin.report', enum_type=NotificationType, max_length=32)),
                ('status', fields.ForeignKeyField('models.Status', source_field='status_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'notifications', 'app': 'models', 'indexes': [Index(fields=['account_id', 'id']), Index(fields=['account_id', 'type', 'id'])], 'pk_attr': 'id', 'table_description': 'Something that happened to ``account`` because of ``from_account``.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OAuthApp',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=255)),
                ('website', fields.CharField(null=True, max_length=2048)),
                ('redirect_uris', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('scopes', fields.CharField(default='read', max_length=1024)),
                ('client_id', fields.CharField(unique=True, max_length=64)),
                ('client_secret_digest', fields.CharField(max_length=64)),
                ('owner', fields.ForeignKeyField('models.Account', source_field='owner_id', null=True, db_constraint=True, to_field='id', related_name='oauth_apps', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'oauth_apps', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A client registered with ``POST /api/v1/apps``.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OAuthCode',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('digest', fields.CharField(unique=True, max_length=64)),
                ('app', fields.ForeignKeyField('models.OAuthApp', source_field='app_id', db_constraint=True, to_field='id', related_name='codes', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='oauth_codes', on_delete=OnDelete.CASCADE)),
                ('redirect_uri', fields.CharField(max_length=2048)),
                ('scopes', fields.CharField(max_length=1024)),
                ('code_challenge', fields.CharField(null=True, max_length=128)),
                ('code_challenge_method', fields.CharField(null=True, max_length=16)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'oauth_codes', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An authorization code: single use, short lived, bound to a redirect URI and PKCE.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OAuthToken',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('digest', fields.CharField(unique=True, max_length=64)),
                ('refresh_digest', fields.CharField(null=True, unique=True, max_length=64)),
                ('app', fields.ForeignKeyField('models.OAuthApp', source_field='app_id', db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', null=True, db_constraint=True, to_field='id', related_name='oauth_tokens', on_delete=OnDelete.CASCADE)),
                ('scopes', fields.CharField(max_length=1024)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'oauth_tokens', 'app': 'models', 'indexes': [Index(fields=['account_id', 'revoked_at'])], 'pk_attr': 'id', 'table_description': "An access token: a user's (authorization code, password) or an app's (client credentials)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Poll',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('status', fields.ForeignKeyField('models.Status', source_field='status_id', unique=True, db_constraint=True, to_field='id', related_name='polls', on_delete=OnDelete.CASCADE)),
                ('options', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('multiple', fields.BooleanField(default=False)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('voters_count', fields.IntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'polls', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The options of a ``Question``: ``options`` is ``[{"title": str, "votes_count": int}]``.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PollVote',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('poll', fields.ForeignKeyField('models.Poll', source_field='poll_id', db_constraint=True, to_field='id', related_name='votes', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='poll_votes', on_delete=OnDelete.CASCADE)),
                ('choice', fields.IntField()),
                ('uri', fields.CharField(null=True, unique=True, max_length=2048)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'poll_votes', 'app': 'models', 'unique_together': (('poll', 'account', 'choice'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StatusPin',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='pins', on_delete=OnDelete.CASCADE)),
                ('status', fields.ForeignKeyField('models.Status', source_field='status_id', db_constraint=True, to_field='id', related_name='pins', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'status_pins', 'app': 'models', 'unique_together': (('account', 'status'),), 'pk_attr': 'id', 'table_description': "A post pinned to its author's profile (the ``featured`` collection)."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Account',
            name='bot',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Account',
            name='default_language',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddField(
            model_name='Account',
            name='default_sensitive',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Account',
            name='default_visibility',
            field=fields.CharEnumField(default=Visibility.PUBLIC, db_default=Visibility.PUBLIC, description='PUBLIC: public\nUNLISTED: unlisted\nPRIVATE: private\nDIRECT: direct', enum_type=Visibility, max_length=16),
        ),
        ops.AddField(
            model_name='Account',
            name='profile_fields',
            field=fields.JSONField(default=list, db_default=[], encoder=JSON_DUMPS, decoder=loads),
        ),
    ]
