"""Tests for activitypub.vocab: robust views over real-world shapes, and builders."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activitypub import vocab
from activitypub.jsonld import DEFAULT_CONTEXT, is_plain_json
from activitypub.vocab import PUBLIC, ASObject, InvalidActivity

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict[str, Any]:
    data = orjson.loads((FIXTURES / name).read_bytes())
    assert isinstance(data, dict)
    return data


def test_mastodon_create_note() -> None:
    create = ASObject.from_json(load("mastodon_create.json"))
    assert create.type == "Create"
    assert create.actor_id == "https://mastodon.example/users/alice"
    note = create.object
    assert note is not None
    assert (
        create.object_id
        == note.id
        == "https://mastodon.example/users/alice/statuses/110000000000000001"
    )
    assert note.type == "Note"
    assert note.is_public
    assert note.is_public_in_to
    assert note.in_reply_to == "https://lemmy.example/comment/42"
    assert note.attributed_to == "https://mastodon.example/users/alice"
    assert "https://lemmy.example/c/tenforward" in note.cc
    assert note.published == datetime(2024, 3, 1, 12, 34, 56, tzinfo=UTC)
    assert note.summary is None
    assert [m.href for m in note.mentions] == ["https://lemmy.example/c/tenforward"]
    assert [h.hashtag_name for h in note.hashtags] == ["python"]
    (attachment,) = note.attachments
    assert attachment.url == "https://files.mastodon.example/a.png"
    assert attachment.media_type == "image/png"
    assert (attachment.width, attachment.height) == (640, 480)
    assert note.url == "https://mastodon.example/@alice/110000000000000001"
    assert note.context is not None


def test_mastodon_person() -> None:
    person = ASObject.from_json(load("mastodon_person.json"))
    assert person.type == "Person"
    assert person.preferred_username == "alice"
    assert person.shared_inbox == "https://mastodon.example/inbox"
    assert person.inbox == "https://mastodon.example/users/alice/inbox"
    assert person.featured == "https://mastodon.example/users/alice/collections/featured"
    key = person.public_key
    assert key is not None
    assert key.id == "https://mastodon.example/users/alice#main-key"
    assert key.owner == person.id
    assert person.icon_url == "https://files.mastodon.example/avatar.png"
    assert not person.manually_approves_followers
    (field,) = person.attachments
    assert field.type == "PropertyValue"
    assert field.name == "Website"


def test_lemmy_group_and_announce() -> None:
    group = ASObject.from_json(load("lemmy_group.json"))
    assert group.type == "Group"
    assert group.attributed_to == "https://lemmy.example/c/tenforward/moderators"
    assert group.posting_restricted_to_mods
    assert group.updated == datetime(2021, 3, 10, 17, 18, 10, 498868, tzinfo=UTC)

    announce = ASObject.from_json(load("lemmy_announce.json"))
    assert announce.type == "Announce"
    inner = announce.object
    assert inner is not None
    assert inner.type == "Create"
    page = inner.object
    assert page is not None
    assert page.type == "Page"
    assert page.name == "Post title"
    assert page.audience == ("https://lemmy.example/c/tenforward",)
    assert page.is_public
    assert page.is_public_in_to
    assert page.source_media_type == "text/markdown"
    assert page.attachments[0].type == "Link"
    assert page.attachments[0].url == "https://lemmy.example/pictrs/image/eOtYb9iEiB.png"
    assert [t.type for t in page.tags] == ["CommunityPostTag", "Mention"]
    assert page.context == "https://lemmy.example/post/55143/context"


def test_piefed_microblog_announce_of_id() -> None:
    announce = ASObject.from_json(load("piefed_announce_microblog.json"))
    assert announce.object is None
    assert announce.object_id == "https://piefed.example/post/7"
    choose = ASObject.from_json(load("piefed_choose_answer.json"))
    assert choose.type == "ChooseAnswer"
    assert choose.audience == ("https://piefed.example/c/python",)


def test_misskey_pleroma_gotosocial() -> None:
    misskey = ASObject.from_json(load("misskey_note.json"))
    assert misskey.published == datetime(2024, 5, 5, 5, 5, 5, 555000, tzinfo=UTC)
    assert misskey.hashtags[0].name == "#test"
    pleroma = ASObject.from_json(load("pleroma_note.json"))
    assert not pleroma.is_public
    assert pleroma.recipients == ("https://mastodon.example/users/alice",)
    assert pleroma.summary == ""
    assert not pleroma.sensitive
    gts = ASObject.from_json(load("gotosocial_note.json"))
    assert gts.to == ("https://gts.example/users/carol/followers",)
    assert gts.is_public
    assert not gts.is_public_in_to


@pytest.mark.parametrize(
    "name",
    [
        "mastodon_note.json",
        "mastodon_create.json",
        "mastodon_person.json",
        "lemmy_page.json",
        "lemmy_group.json",
        "lemmy_announce.json",
        "piefed_announce_microblog.json",
        "misskey_note.json",
        "pleroma_note.json",
        "gotosocial_note.json",
    ],
)
def test_fixtures_take_the_fast_path(name: str) -> None:
    assert is_plain_json(load(name))


@pytest.mark.parametrize("spelling", [PUBLIC, "as:Public", "Public"])
def test_public_spellings(spelling: str) -> None:
    note = ASObject.from_json({"type": "Note", "to": spelling})
    assert note.is_public
    assert vocab.is_public_address(spelling)


def test_shapes_single_list_embedded_link() -> None:
    obj = ASObject.from_json(
        {
            "type": ["Note", "Extra"],
            "actor": [{"type": "Person", "id": "https://a/u"}, "https://b/u"],
            "object": {"type": "Link", "href": "https://a/o"},
            "to": {"id": "https://a/followers"},
            "cc": [None, 3, "https://c", {"href": "https://d"}],
            "url": [
                {"type": "Link", "href": "https://a/x.mp4", "mediaType": "video/mp4"},
                {"type": "Link", "href": "https://a/x", "mediaType": "text/html"},
            ],
            "contentMap": {"de": "Hallo"},
        }
    )
    assert obj.type == "Note"
    assert obj.types == ("Note", "Extra")
    assert obj.has_type("Extra")
    assert obj.actor_ids == ("https://a/u", "https://b/u")
    assert obj.object_id == "https://a/o"
    assert obj.object is not None
    assert obj.object.type == "Link"
    assert obj.to == ("https://a/followers",)
    assert obj.cc == ("https://c", "https://d")
    assert obj.url == "https://a/x"
    assert obj.content == "Hallo"


def test_missing_and_wrong_types_are_none() -> None:
    obj = ASObject.from_json({"id": 5, "type": 7, "published": "yesterday", "tag": "x"})
    assert obj.id is None
    assert obj.type is None
    assert obj.published is None
    assert obj.tags == ()
    assert obj.to == ()
    with pytest.raises(InvalidActivity):
        obj.require_id()
    with pytest.raises(InvalidActivity):
        obj.require_actor_id()
    with pytest.raises(InvalidActivity):
        ASObject.from_json([1, 2])


def test_naive_datetime_is_utc() -> None:
    obj = ASObject.from_json({"published": "2024-01-02T03:04:05"})
    assert obj.published == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


# --- builders -------------------------------------------------------------

A = "https://cop.example/users/alice"
G = "https://cop.example/c/python"


def test_follow_accept_undo() -> None:
    f = vocab.follow(id="https://cop.example/f/1", actor=A, object=G)
    assert f == {
        "@context": list(DEFAULT_CONTEXT),
        "id": "https://cop.example/f/1",
        "type": "Follow",
        "actor": A,
        "to": [G],
        "object": G,
    }
    acc = vocab.accept(id="https://cop.example/a/1", actor=G, object=f, to=[A])
    assert acc["object"]["type"] == "Follow"
    assert acc["to"] == [A]
    u = vocab.undo(id="https://cop.example/u/1", actor=A, object=f)
    assert u["type"] == "Undo"
    assert "to" not in u
    r = vocab.reject(id="https://cop.example/r/1", actor=G, object="https://x/f", to=[A])
    assert r["object"] == "https://x/f"


def test_create_update_delete_announce() -> None:
    note = {"id": "https://cop.example/p/1", "type": "Note", "content": "<p>hi</p>"}
    when = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    c = vocab.create(
        id="https://cop.example/p/1/activity",
        actor=A,
        object=note,
        to=[PUBLIC],
        cc=[G, G],
        audience=G,
        published=when,
    )
    assert c["cc"] == [G]
    assert c["published"] == "2024-01-01T12:00:00Z"
    assert c["audience"] == G
    assert c["object"] == note
    assert c["object"] is not note
    up = vocab.update(id="https://cop.example/p/1#u1", actor=A, object=note, to=[PUBLIC])
    assert up["type"] == "Update"
    d = vocab.delete(
        id="https://cop.example/d/1",
        actor=A,
        object=vocab.tombstone(id=note["id"]),
        to=[PUBLIC],
        summary="spam",
    )
    assert d["object"]["type"] == "Tombstone"
    assert d["summary"] == "spam"
    an = vocab.announce(
        id="https://cop.example/an/1", actor=G, object=c, to=[PUBLIC], cc=[G + "/followers"]
    )
    assert an["object"]["type"] == "Create"
    assert ASObject.from_json(an).object is not None


def test_moderation_builders() -> None:
    assert vocab.like(id="https://cop.example/l/1", actor=A, object="https://x/p")["type"] == "Like"
    b = vocab.block(id="https://cop.example/b/1", actor=A, object="https://x/u", target=G)
    assert b["target"] == G
    fl = vocab.flag(
        id="https://cop.example/fl/1",
        actor=A,
        object=["https://x/u", "https://x/p"],
        content="rude",
        to=["https://x/u"],
    )
    assert fl["object"] == ["https://x/u", "https://x/p"]
    assert fl["content"] == "rude"
    ad = vocab.add(
        id="https://cop.example/add/1",
        actor=A,
        object="https://x/p",
        target=G + "/featured",
        audience=G,
    )
    assert ad["target"] == G + "/featured"
    rm = vocab.remove(
        id="https://cop.example/rm/1", actor=A, object="https://x/p", target=G + "/featured"
    )
    assert rm["type"] == "Remove"
    mv = vocab.move(
        id="https://cop.example/mv/1", actor=A, object=A, target="https://new.example/u/a"
    )
    assert mv["target"] == "https://new.example/u/a"
    ts = vocab.tombstone(
        id="https://cop.example/p/1", former_type="Note", deleted=datetime(2024, 1, 1, tzinfo=UTC)
    )
    assert ts["formerType"] == "Note"
    assert ts["deleted"] == "2024-01-01T00:00:00Z"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"id": "", "actor": A, "object": G},
        {"id": "https://x", "actor": None, "object": G},
        {"id": "https://x", "actor": A, "object": 3},
        {"id": "https://x", "actor": A, "object": G, "to": "https://not-a-list"},
        {"id": "https://x", "actor": A, "object": G, "to": [1]},
    ],
)
def test_builders_reject_bad_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidActivity):
        vocab.follow(**kwargs)
    with pytest.raises(InvalidActivity):
        vocab.create(id="https://x", actor=A, object="not-embedded", to=[PUBLIC])  # type: ignore[arg-type]
    with pytest.raises(InvalidActivity):
        vocab.create(id="https://x", actor=A, object={}, published=datetime(2024, 1, 1))


# --- properties -----------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | st.sampled_from(["Public", "as:Public", PUBLIC, "2024-01-01T00:00:00Z", "9999-99-99T99:99"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "type",
                    "actor",
                    "object",
                    "to",
                    "cc",
                    "href",
                    "url",
                    "tag",
                    "name",
                    "attachment",
                    "published",
                    "icon",
                    "publicKey",
                    "endpoints",
                    "contentMap",
                    "source",
                    "oneOf",
                    "content",
                    "mediaType",
                    "inReplyTo",
                ]
            )
            | st.text(max_size=5),
            children,
            max_size=6,
        )
    ),
    max_leaves=25,
)

ACCESSORS = [name for name, value in vars(ASObject).items() if isinstance(value, property)]


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_accessors_never_raise_foreign_errors(value: Any) -> None:
    try:
        obj = ASObject.from_json(value)
    except InvalidActivity:
        return
    for name in ACCESSORS:
        getattr(obj, name)
    inner = obj.object
    if inner is not None:
        for name in ACCESSORS:
            getattr(inner, name)
    for method in (obj.require_id, obj.require_type, obj.require_actor_id, obj.require_object_id):
        with contextlib.suppress(InvalidActivity):
            method()


BUILDERS = [
    vocab.follow,
    vocab.accept,
    vocab.reject,
    vocab.undo,
    vocab.create,
    vocab.update,
    vocab.delete,
    vocab.announce,
    vocab.like,
    vocab.block,
    vocab.flag,
    vocab.add,
    vocab.remove,
    vocab.move,
]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(BUILDERS),
    json_values,
    json_values,
    json_values,
    json_values,
    json_values,
)
def test_builders_raise_only_invalid_activity(
    builder: Any, i: Any, a: Any, o: Any, t: Any, x: Any
) -> None:
    kwargs: dict[str, Any] = {"id": i, "actor": a, "object": o, "to": t}
    if builder in (vocab.add, vocab.remove, vocab.move):
        kwargs["target"] = x
    try:
        result = builder(**kwargs)
    except InvalidActivity:
        return
    orjson.dumps(result)
    ASObject.from_json(result)


@settings(max_examples=100, deadline=None)
@given(json_values, json_values)
def test_tombstone_raises_only_invalid_activity(i: Any, f: Any) -> None:
    with contextlib.suppress(InvalidActivity):
        vocab.tombstone(id=i, former_type=f)
