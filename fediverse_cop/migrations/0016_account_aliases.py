from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.data import JSON_DUMPS
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """A local account's former accounts elsewhere (``alsoKnownAs``), so people can move
    to this server."""

    dependencies = [("models", "0015_push_standard")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Account",
            name="also_known_as",
            field=fields.JSONField(default=list, db_default=[], encoder=JSON_DUMPS, decoder=loads),
        ),
    ]
