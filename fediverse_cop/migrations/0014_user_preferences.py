from tortoise import migrations
from tortoise.migrations import operations as ops
from fediverse_cop.ids import new_id
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0013_serializer_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AccountNote',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='notes_written', on_delete=OnDelete.CASCADE)),
                ('target', fields.ForeignKeyField('models.Account', source_field='target_id', db_constraint=True, to_field='id', related_name='notes_about', on_delete=OnDelete.CASCADE)),
                ('comment', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'account_notes', 'app': 'models', 'unique_together': (('account', 'target'),), 'pk_attr': 'id', 'table_description': 'A private note a user keeps about another account.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Announcement',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('text', fields.TextField(unique=False)),
                ('starts_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('all_day', fields.BooleanField(default=False)),
                ('published_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'announcements', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An institution-wide notice shown in apps (``fediverse-cop announcement create``).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AnnouncementRead',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('announcement', fields.ForeignKeyField('models.Announcement', source_field='announcement_id', db_constraint=True, to_field='id', related_name='reads', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='announcements_read', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'announcement_reads', 'app': 'models', 'unique_together': (('announcement', 'account'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Conversation',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='conversations', on_delete=OnDelete.CASCADE)),
                ('participants_key', fields.CharField(max_length=1024)),
                ('participant_ids', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('last_status', fields.ForeignKeyField('models.Status', source_field='last_status_id', null=True, db_constraint=True, to_field='id', related_name='conversations', on_delete=OnDelete.SET_NULL)),
                ('unread', fields.BooleanField(default=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'conversations', 'app': 'models', 'unique_together': (('account', 'participants_key'),), 'pk_attr': 'id', 'table_description': 'A direct conversation as one participant sees it (the set of the other participants).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Filter',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='filters', on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(max_length=255)),
                ('context', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('action', fields.CharField(default='warn', max_length=8)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'filters', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A filter (v2): keywords and statuses hidden or warned about in some contexts.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FilterKeyword',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('custom_filter', fields.ForeignKeyField('models.Filter', source_field='custom_filter_id', db_constraint=True, to_field='id', related_name='keywords', on_delete=OnDelete.CASCADE)),
                ('keyword', fields.CharField(max_length=255)),
                ('whole_word', fields.BooleanField(default=True)),
            ],
            options={'table': 'filter_keywords', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FilterStatus',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('custom_filter', fields.ForeignKeyField('models.Filter', source_field='custom_filter_id', db_constraint=True, to_field='id', related_name='statuses', on_delete=OnDelete.CASCADE)),
                ('status', fields.ForeignKeyField('models.Status', source_field='status_id', db_constraint=True, to_field='id', related_name='filtered_by', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'filter_statuses', 'app': 'models', 'unique_together': (('custom_filter', 'status'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='List',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='lists', on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(max_length=255)),
                ('replies_policy', fields.CharField(default='list', max_length=16)),
                ('exclusive', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'lists', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ListAccount',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('user_list', fields.ForeignKeyField('models.List', source_field='user_list_id', db_constraint=True, to_field='id', related_name='members', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='in_lists', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'list_accounts', 'app': 'models', 'unique_together': (('user_list', 'account'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Marker',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='markers', on_delete=OnDelete.CASCADE)),
                ('timeline', fields.CharField(max_length=16)),
                ('last_read_id', fields.BigIntField(default=0)),
                ('version', fields.IntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'markers', 'app': 'models', 'unique_together': (('account', 'timeline'),), 'pk_attr': 'id', 'table_description': 'Where the user stopped reading a timeline (``home`` or ``notifications``).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Mute',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='muting', on_delete=OnDelete.CASCADE)),
                ('target', fields.ForeignKeyField('models.Account', source_field='target_id', db_constraint=True, to_field='id', related_name='muted_by', on_delete=OnDelete.CASCADE)),
                ('notifications', fields.BooleanField(default=True)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'mutes', 'app': 'models', 'unique_together': (('account', 'target'),), 'pk_attr': 'id', 'table_description': '``account`` mutes ``target``: its posts leave their timelines (and notifications).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PushSubscription',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('token', fields.ForeignKeyField('models.OAuthToken', source_field='token_id', db_constraint=True, to_field='id', related_name='push_subscriptions', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='push_subscriptions', on_delete=OnDelete.CASCADE)),
                ('endpoint', fields.CharField(max_length=2048)),
                ('p256dh', fields.CharField(max_length=255)),
                ('auth', fields.CharField(max_length=255)),
                ('alerts', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('policy', fields.CharField(default='all', max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'push_subscriptions', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A Web Push subscription of one access token (Mastodon ties them to the token).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ScheduledStatus',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='scheduled_statuses', on_delete=OnDelete.CASCADE)),
                ('scheduled_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('params', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('media_ids', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'scheduled_statuses', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A post to publish later: the parameters of ``POST /api/v1/statuses`` as sent.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TagFollow',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='followed_tags', on_delete=OnDelete.CASCADE)),
                ('tag', fields.ForeignKeyField('models.Tag', source_field='tag_id', db_constraint=True, to_field='id', related_name='followers', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'tag_follows', 'app': 'models', 'unique_together': (('account', 'tag'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='UserDomainBlock',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=new_id, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='domain_blocks', on_delete=OnDelete.CASCADE)),
                ('domain', fields.CharField(max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'user_domain_blocks', 'app': 'models', 'unique_together': (('account', 'domain'),), 'pk_attr': 'id', 'table_description': "A user hides a whole domain for themselves (not the instance's domain blocks)."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Instance',
            name='vapid_private_key',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.AddField(
            model_name='Instance',
            name='vapid_public_key',
            field=fields.CharField(default='', db_default='', max_length=255),
        ),
    ]
