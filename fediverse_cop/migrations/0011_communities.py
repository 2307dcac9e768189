from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0010_client_api')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PeerSoftware',
            fields=[
                ('domain', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255)),
                ('software', fields.CharField(default='', max_length=64)),
                ('kind', fields.CharField(default='microblog', max_length=16)),
                ('fetched_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'peer_software', 'app': 'models', 'pk_attr': 'domain', 'table_description': 'What software a remote server runs, as its NodeInfo says: decides how a'},
            bases=['Model'],
        ),
    ]
