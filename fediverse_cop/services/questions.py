"""Questions to trainers: the accepted answer of a community post, as PieFed federates it.

A question is a top-level post in a community (posts tagged ``#question`` are the
ones :func:`open_questions` lists). Its asker, or a trainer, moderator or the
owner of the community, marks one reply of its thread as the accepted answer
(``Status.accepted_answer``). On the wire that is PieFed's
``ChooseAnswer{actor, object: <the reply>, audience: <the community>}``, undone
with ``Undo{ChooseAnswer}`` (the inner activity regenerated with a new id, as
Lemmy undoes moderation):

* in a **local** community the group announces it: ``Announce{ChooseAnswer}`` to
  its followers on group-aware servers, and, since nothing else understands
  ``ChooseAnswer``, a boost of the answer (``Announce`` of its id) to its
  followers on microblog servers, withdrawn (``Undo{Announce}``) when the choice
  is undone;
* in a **remote** community the ``ChooseAnswer`` goes to the group, which
  announces it.

Received: a ``ChooseAnswer`` sent to a local community counts when its actor is
the asker or holds a staff role there; for a remote community it counts only
when announced by the group and its actor is the asker or in the group's
moderators collection. Anything else is refused and changes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery

from activitypub import vocab
from activitypub.errors import FetchError
from activitypub.jsonld import DEFAULT_CONTEXT
from activitypub.origins import same_origin
from activitypub.uris import Kind
from activitypub.vocab import ASObject
from fediverse_cop.ids import new_id
from fediverse_cop.models import (
    Account,
    ActorType,
    Community,
    CommunityRole,
    ContentVisibility,
    Status,
    StatusTag,
    Tombstone,
    Visibility,
)
from fediverse_cop.services import groups
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.errors import Invalid, NotFound
from fediverse_cop.services.follows import activity_uri
from fediverse_cop.services.incoming import NotAccepted
from fediverse_cop.services.remote import Federation
from fediverse_cop.services.visibility import PUBLIC
from outbox.enqueue import enqueue
from outbox.fanout import followers_of_kind

CHOOSE_ANSWER: Final = "ChooseAnswer"
QUESTION_TAG: Final = "question"
# How far up a reply chain the question of an answer is looked for.
MAX_THREAD_DEPTH: Final = 64
_SHOWN_TO_ALL: Final = (Visibility.PUBLIC, Visibility.UNLISTED)
NOT_YOURS: Final = "only the asker or a trainer or moderator of the community chooses the answer"


# -- threads ----------------------------------------------------------------------------------


async def question_of(answer: Status) -> Status | None:
    """The top-level post a reply's thread starts with (None for a top-level post)."""
    parent_id: int | None = answer.in_reply_to_id  # type: ignore[attr-defined]
    seen = {answer.id}
    status: Status | None = None
    for _ in range(MAX_THREAD_DEPTH):
        if parent_id is None or parent_id in seen:
            break
        seen.add(parent_id)
        status = await Status.get_or_none(id=parent_id)
        if status is None:
            return None
        parent_id = status.in_reply_to_id  # type: ignore[attr-defined]
    if status is None or status.in_reply_to_uri is not None:
        return None
    return status


async def _group_of(question: Status) -> Account:
    group = (
        await Account.get_or_none(uri=question.audience, actor_type=ActorType.GROUP)
        if question.audience
        else None
    )
    if group is None:
        raise Invalid("only a post in a community is a question with an answer to choose")
    return group


async def _check_pair(question: Status, answer: Status) -> Account:
    """The community of a question and one reply of its thread, else Invalid."""
    if question.deleted_at is not None or question.reblog_of_id is not None:  # type: ignore[attr-defined]
        raise NotFound("the question does not exist")
    if question.in_reply_to_uri is not None:
        raise Invalid("a question is a top-level post; this one is a reply")
    if answer.deleted_at is not None or answer.removed_at is not None:
        raise NotFound("the answer does not exist")
    root = await question_of(answer)
    if root is None or root.id != question.id:
        raise Invalid("the answer must be a reply in the question's thread")
    return await _group_of(question)


async def _may_decide(community: Community | None, question: Status, actor: Account) -> bool:
    """The asker, or a trainer, moderator or owner of a local community."""
    if question.account_id == actor.id:  # type: ignore[attr-defined]
        return True
    if community is None:
        return False
    role = await CommunityRole.get_or_none(community_id=community.id, account_id=actor.id)
    return role is not None and role.role in groups.STAFF_ROLES


# -- activities -------------------------------------------------------------------------------


def _addressing(group: Account, question: Status) -> tuple[list[str], list[str]]:
    if question.visibility is Visibility.PUBLIC:
        return [PUBLIC], [group.uri]
    if question.visibility is Visibility.UNLISTED:
        return [group.uri], [PUBLIC]
    return [group.uri], []


def choose_answer_activity(
    activity_id: str, actor: Account, answer: Status, group: Account, question: Status
) -> dict[str, Any]:
    """PieFed's ``ChooseAnswer``: the actor chose ``answer``, in the community ``group``."""
    to, cc = _addressing(group, question)
    document: dict[str, Any] = {
        "@context": copy.deepcopy(list(DEFAULT_CONTEXT)),
        "id": activity_id,
        "type": CHOOSE_ANSWER,
        "actor": actor.uri,
        "object": answer.uri,
        "audience": group.uri,
        "to": to,
    }
    if cc:
        document["cc"] = cc
    return document


async def _announce(
    fed: Federation, community: Community, question: Status, inner: Mapping[str, Any]
) -> None:
    """``Announce{inner}`` to the community's followers on group-aware servers."""
    group = community.account
    if not group.followers_uri:
        return
    followers = group.followers_uri
    if question.visibility is Visibility.PUBLIC:
        to, cc = [PUBLIC], [followers]
    elif question.visibility is Visibility.UNLISTED:
        to, cc = [followers], [PUBLIC]
    else:
        to, cc = [followers], []
    announce = vocab.announce(
        id=activity_uri(fed.ctx), actor=group.uri, object=dict(inner), to=to, cc=cc
    )
    announce["audience"] = group.uri
    recipients = [followers_of_kind(followers, "group-aware")]
    await enqueue(announce, group, recipients, ordering_key=question.uri)


async def _boost_answer(fed: Federation, community: Community, answer: Status) -> None:
    """Microblog followers see the accepted answer boosted by the group (public ones only)."""
    group = community.account
    if (
        answer.visibility not in _SHOWN_TO_ALL
        or community.visibility is ContentVisibility.MEMBERS
        or not group.followers_uri
    ):
        return
    if await Status.exists(account_id=group.id, reblog_of_id=answer.id, deleted_at=None):
        return
    await answer.fetch_related("account")
    boost_id = new_id()
    if answer.visibility is Visibility.PUBLIC:
        to, cc = [PUBLIC], [group.followers_uri, answer.account.uri]
    else:
        to, cc = [group.followers_uri], [PUBLIC, answer.account.uri]
    try:
        boost = await Status.create(
            id=boost_id,
            uri=fed.ctx.uris.build(Kind.ACTIVITY, id=str(boost_id)),
            account=group,
            local=True,
            object_type="Announce",
            reblog_of=answer,
            visibility=answer.visibility,
            to=to,
            cc=cc,
            audience=group.uri,
            published_at=utcnow(),
        )
    except IntegrityError:
        return
    announce = vocab.announce(
        id=boost.uri, actor=group.uri, object=answer.uri, to=to, cc=cc, published=boost.published_at
    )
    recipients = [followers_of_kind(group.followers_uri, "microblog")]
    await enqueue(announce, group, recipients, ordering_key=answer.uri)


async def _unboost_answer(fed: Federation, community: Community, answer_id: int) -> None:
    group = community.account
    boost = await Status.get_or_none(
        account_id=group.id, reblog_of_id=answer_id, local=True, deleted_at=None
    ).select_related("reblog_of")
    if boost is None or boost.reblog_of is None:
        return
    answer_uri = boost.reblog_of.uri
    await Tombstone.get_or_create(
        uri=boost.uri, defaults={"account": group, "deleted_at": utcnow()}
    )
    await boost.delete()
    if not group.followers_uri:
        return
    undo = vocab.undo(
        id=f"{boost.uri}#undo",
        actor=group.uri,
        object=vocab.announce(
            id=boost.uri, actor=group.uri, object=answer_uri, to=boost.to, cc=boost.cc
        ),
        to=boost.to,
        cc=boost.cc,
    )
    recipients = [followers_of_kind(group.followers_uri, "microblog")]
    await enqueue(undo, group, recipients, ordering_key=answer_uri)


async def _local_community(group: Account) -> Community | None:
    return await groups.community_of_account(group)


# -- local choices ----------------------------------------------------------------------------


async def choose_answer(
    fed: Federation, actor: Account, question: Status, answer: Status
) -> Status:
    """``actor`` (local) marks ``answer`` as the accepted answer of ``question``."""
    if not actor.local or actor.is_suspended:
        raise Invalid("only active local accounts choose answers here")
    group = await _check_pair(question, answer)
    community = await _local_community(group)
    if not await _may_decide(community, question, actor):
        raise Invalid(
            "only the asker or a trainer or moderator of the community chooses the answer"
        )
    previous: int | None = question.accepted_answer_id  # type: ignore[attr-defined]
    if previous == answer.id:
        return question
    question.accepted_answer = answer
    await question.save(update_fields=["accepted_answer_id"])
    activity = choose_answer_activity(activity_uri(fed.ctx), actor, answer, group, question)
    if community is None:
        await enqueue(activity, actor, [group.uri], ordering_key=question.uri)
        return question
    if previous is not None:
        await _unboost_answer(fed, community, previous)
    await _announce(fed, community, question, activity)
    await _boost_answer(fed, community, answer)
    return question


async def undo_answer(fed: Federation, actor: Account, question: Status) -> Status:
    """``actor`` (local) withdraws the accepted answer of ``question``: ``Undo{ChooseAnswer}``."""
    if not actor.local or actor.is_suspended:
        raise Invalid("only active local accounts choose answers here")
    answer_id: int | None = question.accepted_answer_id  # type: ignore[attr-defined]
    if answer_id is None:
        raise NotFound("the question has no accepted answer")
    answer = await Status.get(id=answer_id)
    group = await _group_of(question)
    community = await _local_community(group)
    if not await _may_decide(community, question, actor):
        raise Invalid(
            "only the asker or a trainer or moderator of the community chooses the answer"
        )
    question.accepted_answer = None
    await question.save(update_fields=["accepted_answer_id"])
    inner = choose_answer_activity(activity_uri(fed.ctx), actor, answer, group, question)
    inner.pop("@context", None)
    to, cc = _addressing(group, question)
    undo = vocab.undo(id=activity_uri(fed.ctx), actor=actor.uri, object=inner, to=to, cc=cc)
    undo["audience"] = group.uri
    if community is None:
        await enqueue(undo, actor, [group.uri], ordering_key=question.uri)
        return question
    await _announce(fed, community, question, undo)
    await _unboost_answer(fed, community, answer.id)
    return question


async def open_questions(group: Account, *, limit: int = 40) -> list[Status]:
    """Posts of a community tagged ``#question`` that have no accepted answer, newest first."""
    tagged = Subquery(StatusTag.filter(tag__name=QUESTION_TAG).values("status_id"))
    return list(
        await Status.filter(
            audience=group.uri,
            in_reply_to_uri=None,
            reblog_of_id=None,
            deleted_at=None,
            accepted_answer_id=None,
            id__in=tagged,
        )
        .order_by("-id")
        .limit(limit)
    )


# -- received choices -------------------------------------------------------------------------


async def _received_pair(activity: ASObject) -> tuple[Status, Status, Account]:
    """The known answer a (received) ChooseAnswer names, its question and community."""
    answer_uri = activity.object_id
    answer = await Status.get_or_none(uri=answer_uri, reblog_of_id=None) if answer_uri else None
    if answer is None:
        raise NotAccepted(f"the chosen answer {answer_uri} is not known here")
    question = await question_of(answer)
    if question is None:
        raise NotAccepted(f"{answer_uri} is not a reply in a thread known here")
    try:
        group = await _check_pair(question, answer)
    except (Invalid, NotFound) as exc:
        raise NotAccepted(str(exc)) from None
    named = activity.audience
    if named and group.uri not in named:
        raise NotAccepted("the ChooseAnswer names another community than the question's")
    return question, answer, group


async def remote_moderators(fed: Federation, group: Account) -> frozenset[str]:
    """The actor ids in a remote group's moderators collection (``attributedTo``)."""
    try:
        document = ASObject((await fed.http.fetch_ap(group.uri, auth=fed.signer)).document)
        collection = document.get("moderators") or document.attributed_to
        if not isinstance(collection, str) or not same_origin(collection, group.uri):
            return frozenset()
        listing = (await fed.http.fetch_ap(collection, auth=fed.signer)).document
    except FetchError as exc:
        if exc.retryable:
            raise
        return frozenset()
    items = listing.get("orderedItems") or listing.get("items") or []
    if not isinstance(items, list):
        items = [items]
    return frozenset(
        item if isinstance(item, str) else str(item.get("id"))
        for item in items
        if isinstance(item, (str, dict))
    )


async def _authorised(
    fed: Federation,
    community: Community | None,
    group: Account,
    question: Status,
    actor: Account,
    announced_by: Account | None,
) -> None:
    if community is not None:
        if announced_by is not None:
            raise NotAccepted("a local community's answers are not taken from an Announce")
        if not await _may_decide(community, question, actor):
            raise NotAccepted(
                f"{actor.uri} is neither the asker nor a trainer or moderator of the community"
            )
        return
    if announced_by is None or announced_by.id != group.id:
        raise NotAccepted(f"a ChooseAnswer in {group.uri} counts only when the group announces it")
    if question.account_id == actor.id:  # type: ignore[attr-defined]
        return
    if actor.uri not in await remote_moderators(fed, group):
        raise NotAccepted(f"{actor.uri} is neither the asker nor a moderator of {group.uri}")


async def receive_choose_answer(
    fed: Federation, actor: Account, activity: ASObject, *, announced_by: Account | None = None
) -> None:
    """A ``ChooseAnswer`` by ``actor``: sent to a local community, or announced by a remote one."""
    if activity.actor_id != actor.uri:
        raise NotAccepted("the ChooseAnswer is not the sender's")
    question, answer, group = await _received_pair(activity)
    community = await _local_community(group)
    await _authorised(fed, community, group, question, actor, announced_by)
    previous: int | None = question.accepted_answer_id  # type: ignore[attr-defined]
    if previous == answer.id:
        return
    question.accepted_answer = answer
    await question.save(update_fields=["accepted_answer_id"])
    if community is not None:
        if previous is not None:
            await _unboost_answer(fed, community, previous)
        await _announce(fed, community, question, dict(activity.data))
        await _boost_answer(fed, community, answer)


async def receive_undo_answer(
    fed: Federation, actor: Account, undo: ASObject, *, announced_by: Account | None = None
) -> None:
    """``Undo{ChooseAnswer}`` under the same rules as the choice itself."""
    inner = undo.object
    if inner is None or not inner.has_type(CHOOSE_ANSWER):
        raise NotAccepted("an Undo of a ChooseAnswer must embed it")
    if undo.actor_id != actor.uri or inner.actor_id not in (None, actor.uri):
        raise NotAccepted("the Undo is not the sender's")
    question, answer, group = await _received_pair(inner)
    community = await _local_community(group)
    await _authorised(fed, community, group, question, actor, announced_by)
    if question.accepted_answer_id != answer.id:  # type: ignore[attr-defined]
        return  # another answer is chosen now (or none): nothing to undo
    question.accepted_answer = None
    await question.save(update_fields=["accepted_answer_id"])
    if community is not None:
        await _announce(fed, community, question, dict(undo.data))
        await _unboost_answer(fed, community, answer.id)
