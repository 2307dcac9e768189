"""Filters: keywords and posts a user does not want to see, and where (Mastodon's v2 filters).

A filter has a title, the contexts it applies in (``home``, ``notifications``,
``public``, ``thread``, ``account``), an action (``warn`` or ``hide``), an optional
expiry, keywords and single posts. Version 1 of the API sees one filter per
keyword (the keyword's id is the v1 filter's id; ``irreversible`` is ``hide``).

Filters are applied on the server: :func:`active_filters` compiles a user's
unexpired filters once (at most three queries), and :class:`CompiledFilters`
answers, without the database, which filters a post matches. ``hide`` filters
take matching posts out of timelines and notifications of their contexts;
every match is reported in the Status entity's ``filtered``. Keywords match the
plain text of the content, the content warning and media descriptions,
case-insensitively; ``whole_word`` keywords only at word boundaries, as Mastodon
does (a boundary is required only where the keyword starts or ends with a word
character).

Every change to a user's filters (a filter, its keywords or its posts, through v1
or v2) sends ``filters_changed`` to that user's ``user`` streams, once per change,
after it is stored.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from activitypub.html import html_to_text
from fediverse_cop.models import Account, Filter, FilterKeyword, FilterStatus, Status
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.errors import Invalid, NotFound
from fediverse_cop.streaming import bus

CONTEXTS: Final = ("home", "notifications", "public", "thread", "account")
ACTIONS: Final = ("warn", "hide")
MAX_TITLE: Final = 255
MAX_KEYWORD: Final = 255
MAX_KEYWORDS: Final = 100
MAX_FILTERS: Final = 100
MAX_EXPIRES_IN: Final = 10 * 365 * 24 * 3600
RECORD_NOT_FOUND: Final = "Record not found"
MULTIPLE_KEYWORDS: Final = (
    "These parameters cannot be changed from this application because they apply to more "
    "than one filter keyword"
)


# -- matching ----------------------------------------------------------------------------------


def keyword_pattern(keyword: str, whole_word: bool) -> re.Pattern[str]:
    """The pattern of one keyword: case-insensitive, with word boundaries for ``whole_word``."""
    escaped = re.escape(keyword)
    if whole_word:
        if re.match(r"\w", keyword):
            escaped = r"\b" + escaped
        if re.search(r"\w$", keyword):
            escaped += r"\b"
    return re.compile(escaped, re.IGNORECASE)


def status_text(status: Status) -> str:
    """What keywords are matched against: content as plain text, content warning, media
    descriptions (local uploads are mirrored in ``Status.attachments``)."""
    parts = [html_to_text(status.content), status.summary]
    for item in status.attachments or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            parts.append(item["name"])
    return "\n".join(part for part in parts if part)


@dataclass(frozen=True, slots=True)
class CompiledFilter:
    id: int
    title: str
    context: tuple[str, ...]
    action: str
    expires_at: datetime | None
    keywords: tuple[tuple[str, re.Pattern[str]], ...]
    status_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class FilterMatch:
    """A filter a post matched (Mastodon's FilterResult)."""

    filter: CompiledFilter
    keyword_matches: tuple[str, ...]
    status_matches: tuple[int, ...]

    @property
    def hides(self) -> bool:
        return self.filter.action == "hide"


class CompiledFilters:
    """One user's active filters, ready to match posts without the database."""

    def __init__(self, filters: Sequence[CompiledFilter] = ()) -> None:
        self.filters = tuple(filters)

    def __bool__(self) -> bool:
        return bool(self.filters)

    def matches(
        self, text: str, context: str | None = None, status_id: int | None = None
    ) -> list[FilterMatch]:
        """The filters ``text`` (or the post ``status_id``) matches; only those applying in
        ``context`` when one is given. Expired filters never match."""
        now = utcnow()
        found: list[FilterMatch] = []
        for f in self.filters:
            if context is not None and context not in f.context:
                continue
            if f.expires_at is not None and f.expires_at <= now:
                continue
            words = tuple(word for word, pattern in f.keywords if pattern.search(text))
            statuses = (status_id,) if status_id is not None and status_id in f.status_ids else ()
            if words or statuses:
                found.append(FilterMatch(f, words, statuses))
        return found

    def match_status(
        self, status: Status, context: str | None = None, inner: Status | None = None
    ) -> list[FilterMatch]:
        """The filters a post matches; for a boost, pass the boosted post as ``inner``."""
        if not self.filters:
            return []
        proper = inner if inner is not None else status
        return self.matches(status_text(proper), context, proper.id)

    def hides(self, status: Status, context: str, inner: Status | None = None) -> bool:
        return any(m.hides for m in self.match_status(status, context, inner))

    def hidden(
        self, statuses: Iterable[Status], context: str, boosted: Mapping[int, Status]
    ) -> set[int]:
        """Ids of ``statuses`` a ``hide`` filter of ``context`` takes out; ``boosted`` maps
        the ids of boosted posts to their rows."""
        if not self.filters:
            return set()
        hidden: set[int] = set()
        for s in statuses:
            inner_id = s.reblog_of_id  # type: ignore[attr-defined]
            inner = boosted.get(inner_id) if inner_id is not None else None
            if self.hides(s, context, inner):
                hidden.add(s.id)
        return hidden


def _compile(row: Filter, keywords: list[FilterKeyword], status_ids: set[int]) -> CompiledFilter:
    return CompiledFilter(
        id=row.id,
        title=row.title,
        context=tuple(c for c in row.context if c in CONTEXTS),
        action=row.action if row.action in ACTIONS else "warn",
        expires_at=row.expires_at,
        keywords=tuple((k.keyword, keyword_pattern(k.keyword, k.whole_word)) for k in keywords),
        status_ids=frozenset(status_ids),
    )


def _unexpired() -> Q:
    return Q(expires_at=None) | Q(expires_at__gt=utcnow())


async def active_filters(account: Account) -> CompiledFilters:
    """``account``'s unexpired filters: one query when there are none, three otherwise."""
    return (await active_filters_of([account.id]))[account.id]


async def active_filters_of(account_ids: Collection[int]) -> dict[int, CompiledFilters]:
    """The unexpired filters of each of ``account_ids`` (the streams load them for all
    their receivers at once): one query when none has any, three otherwise."""
    found = {int(i): CompiledFilters() for i in account_ids}
    if not found:
        return found
    rows = await Filter.filter(_unexpired(), account_id__in=list(found)).order_by("id")
    if not rows:
        return found
    ids = [row.id for row in rows]
    keywords: dict[int, list[FilterKeyword]] = {i: [] for i in ids}
    for k in await FilterKeyword.filter(custom_filter_id__in=ids).order_by("id"):
        keywords[k.custom_filter_id].append(k)  # type: ignore[attr-defined]
    statuses: dict[int, set[int]] = {i: set() for i in ids}
    pairs = await FilterStatus.filter(custom_filter_id__in=ids).values_list(
        "custom_filter_id", "status_id"
    )
    for filter_id, status_id in pairs:
        statuses[int(filter_id)].add(int(status_id))
    compiled: dict[int, list[CompiledFilter]] = {}
    for row in rows:
        owner: int = row.account_id  # type: ignore[attr-defined]
        compiled.setdefault(owner, []).append(_compile(row, keywords[row.id], statuses[row.id]))
    found.update({owner: CompiledFilters(items) for owner, items in compiled.items()})
    return found


async def hidden_ids(
    statuses: Sequence[Status], compiled: CompiledFilters, context: str
) -> set[int]:
    """Ids of ``statuses`` a ``hide`` filter of ``context`` takes out (boosts by the boosted
    post); one query for the boosted posts when some are boosts."""
    if not compiled or not statuses:
        return set()
    wanted = {s.reblog_of_id for s in statuses if s.reblog_of_id is not None}  # type: ignore[attr-defined]
    boosted = {s.id: s for s in await Status.filter(id__in=wanted)} if wanted else {}
    return compiled.hidden(statuses, context, boosted)


async def without_hidden(
    account: Account | None, statuses: Sequence[Status], context: str
) -> list[Status]:
    """``statuses`` less those ``account``'s ``hide`` filters of ``context`` take out."""
    if account is None or not statuses:
        return list(statuses)
    hidden = await hidden_ids(statuses, await active_filters(account), context)
    return [s for s in statuses if s.id not in hidden]


# -- managing filters ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeywordChange:
    """One item of ``keywords_attributes``: a new keyword (no id), a change, or a removal."""

    id: int | None
    keyword: str | None
    whole_word: bool | None
    destroy: bool = False


@dataclass(frozen=True, slots=True)
class FilterChange:
    """What a create or update sets; None leaves a field as it is."""

    title: str | None = None
    context: tuple[str, ...] | None = None
    action: str | None = None
    # None: unchanged; 0: never expires; otherwise seconds from now.
    expires_in: int | None = None
    keywords: tuple[KeywordChange, ...] = ()


def check_title(title: str) -> str:
    cleaned = title.strip()
    if not cleaned:
        raise Invalid("Validation failed: Title can't be blank")
    if len(cleaned) > MAX_TITLE:
        raise Invalid(f"Validation failed: Title is longer than {MAX_TITLE} characters")
    return cleaned


def check_context(values: Iterable[str]) -> tuple[str, ...]:
    context = tuple(dict.fromkeys(v.strip() for v in values if v.strip()))
    if not context:
        raise Invalid("Validation failed: Context can't be blank")
    unknown = [c for c in context if c not in CONTEXTS]
    if unknown:
        raise Invalid(f"Validation failed: Context {unknown[0]!r} is not a filter context")
    return context


def check_action(value: str) -> str:
    if value not in ACTIONS:
        raise Invalid("Validation failed: filter_action must be warn or hide")
    return value


def check_keyword(value: str) -> str:
    keyword = value.strip()
    if not keyword:
        raise Invalid("Validation failed: Keyword can't be blank")
    if len(keyword) > MAX_KEYWORD:
        raise Invalid(f"Validation failed: Keyword is longer than {MAX_KEYWORD} characters")
    return keyword


def expiry(expires_in: int) -> datetime | None:
    if expires_in <= 0:
        return None
    return utcnow() + timedelta(seconds=min(expires_in, MAX_EXPIRES_IN))


async def own_filter(account: Account, filter_id: int | None) -> Filter:
    row = None
    if filter_id is not None:
        row = await Filter.get_or_none(id=filter_id, account_id=account.id)
    if row is None:
        raise NotFound(RECORD_NOT_FOUND)
    return row


async def own_keyword(account: Account, keyword_id: int | None) -> FilterKeyword:
    row = None
    if keyword_id is not None:
        row = await FilterKeyword.get_or_none(
            id=keyword_id, custom_filter__account_id=account.id
        ).select_related("custom_filter")
    if row is None:
        raise NotFound(RECORD_NOT_FOUND)
    return row


async def own_filter_status(account: Account, row_id: int | None) -> FilterStatus:
    row = None
    if row_id is not None:
        row = await FilterStatus.get_or_none(id=row_id, custom_filter__account_id=account.id)
    if row is None:
        raise NotFound(RECORD_NOT_FOUND)
    return row


async def _changed(account_id: int) -> None:
    """Tell the owner's streams that their filters changed."""
    await bus.publish_filters_changed(account_id)


async def _owner_of(filter_id: int) -> int | None:
    owners: list[Any] = await Filter.filter(id=filter_id).values_list("account_id", flat=True)
    return int(owners[0]) if owners else None


async def create_filter(account: Account, change: FilterChange) -> Filter:
    if change.title is None or change.context is None:
        raise Invalid("Validation failed: Title and context are required")
    if await Filter.filter(account_id=account.id).count() >= MAX_FILTERS:
        raise Invalid(f"Validation failed: at most {MAX_FILTERS} filters")
    async with in_transaction():
        row = await Filter.create(
            account=account,
            title=check_title(change.title),
            context=list(check_context(change.context)),
            action=check_action(change.action or "warn"),
            expires_at=expiry(change.expires_in or 0),
        )
        await _apply_keywords(row, change.keywords)
    await _changed(account.id)
    return row


async def update_filter(row: Filter, change: FilterChange) -> Filter:
    await _update_filter(row, change)
    await _changed(row.account_id)  # type: ignore[attr-defined]
    return row


async def delete_filter(row: Filter) -> None:
    """Remove a filter with its keywords and posts."""
    await row.delete()
    await _changed(row.account_id)  # type: ignore[attr-defined]


async def _update_filter(row: Filter, change: FilterChange) -> None:
    async with in_transaction():
        if change.title is not None:
            row.title = check_title(change.title)
        if change.context is not None:
            row.context = list(check_context(change.context))
        if change.action is not None:
            row.action = check_action(change.action)
        if change.expires_in is not None:
            row.expires_at = expiry(change.expires_in)
        await row.save()
        await _apply_keywords(row, change.keywords)


async def _apply_keywords(row: Filter, changes: Sequence[KeywordChange]) -> None:
    for change in changes:
        if change.id is None:
            if change.destroy:
                continue
            if change.keyword is None:
                raise Invalid("Validation failed: Keyword can't be blank")
            await _add_keyword(row, change.keyword, change.whole_word)
            continue
        keyword = await FilterKeyword.get_or_none(id=change.id, custom_filter_id=row.id)
        if keyword is None:
            raise NotFound(RECORD_NOT_FOUND)
        if change.destroy:
            await keyword.delete()
        else:
            await _update_keyword(keyword, change.keyword, change.whole_word)


async def add_keyword(row: Filter, keyword: str, whole_word: bool | None) -> FilterKeyword:
    added = await _add_keyword(row, keyword, whole_word)
    await _changed(row.account_id)  # type: ignore[attr-defined]
    return added


async def _add_keyword(row: Filter, keyword: str, whole_word: bool | None) -> FilterKeyword:
    if await FilterKeyword.filter(custom_filter_id=row.id).count() >= MAX_KEYWORDS:
        raise Invalid(f"Validation failed: at most {MAX_KEYWORDS} keywords in a filter")
    return await FilterKeyword.create(
        custom_filter=row,
        keyword=check_keyword(keyword),
        whole_word=True if whole_word is None else whole_word,
    )


async def update_keyword(
    row: FilterKeyword, keyword: str | None, whole_word: bool | None
) -> FilterKeyword:
    await _update_keyword(row, keyword, whole_word)
    await _changed_filter(row.custom_filter_id)  # type: ignore[attr-defined]
    return row


async def delete_keyword(row: FilterKeyword) -> None:
    await row.delete()
    await _changed_filter(row.custom_filter_id)  # type: ignore[attr-defined]


async def _changed_filter(filter_id: int) -> None:
    owner = await _owner_of(filter_id)
    if owner is not None:
        await _changed(owner)


async def _update_keyword(
    row: FilterKeyword, keyword: str | None, whole_word: bool | None
) -> FilterKeyword:
    if keyword is not None:
        row.keyword = check_keyword(keyword)
    if whole_word is not None:
        row.whole_word = whole_word
    await row.save()
    return row


async def add_status(account: Account, row: Filter, status: Status) -> FilterStatus:
    existing = await FilterStatus.get_or_none(custom_filter_id=row.id, status_id=status.id)
    if existing is not None:
        raise Invalid("Validation failed: Status has already been taken")
    added = await FilterStatus.create(custom_filter=row, status=status)
    await _changed(account.id)
    return added


async def remove_status(row: FilterStatus) -> None:
    await row.delete()
    await _changed_filter(row.custom_filter_id)  # type: ignore[attr-defined]


async def keywords_of(rows: Sequence[Filter]) -> dict[int, list[FilterKeyword]]:
    found: dict[int, list[FilterKeyword]] = {row.id: [] for row in rows}
    if rows:
        for k in await FilterKeyword.filter(custom_filter_id__in=list(found)).order_by("id"):
            found[k.custom_filter_id].append(k)  # type: ignore[attr-defined]
    return found


async def statuses_of(rows: Sequence[Filter]) -> dict[int, list[FilterStatus]]:
    found: dict[int, list[FilterStatus]] = {row.id: [] for row in rows}
    if rows:
        for s in await FilterStatus.filter(custom_filter_id__in=list(found)).order_by("id"):
            found[s.custom_filter_id].append(s)  # type: ignore[attr-defined]
    return found


# -- version 1: one keyword per filter -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class V1Change:
    phrase: str | None = None
    context: tuple[str, ...] | None = None
    irreversible: bool | None = None
    whole_word: bool | None = None
    expires_in: int | None = None


async def create_v1(account: Account, change: V1Change) -> FilterKeyword:
    if change.phrase is None or change.context is None:
        raise Invalid("Validation failed: phrase and context are required")
    phrase = check_keyword(change.phrase)
    row = await create_filter(
        account,
        FilterChange(
            title=phrase[:MAX_TITLE],
            context=change.context,
            action="hide" if change.irreversible else "warn",
            expires_in=change.expires_in,
            keywords=(KeywordChange(None, phrase, change.whole_word),),
        ),
    )
    keyword = await FilterKeyword.filter(custom_filter_id=row.id).order_by("id").first()
    if keyword is None:  # pragma: no cover - created just above
        raise NotFound(RECORD_NOT_FOUND)
    keyword.custom_filter = row
    return keyword


async def update_v1(keyword: FilterKeyword, change: V1Change) -> FilterKeyword:
    """Change the keyword, and the filter it belongs to when that has no other keyword (a
    change to a filter of several keywords is refused, as Mastodon does)."""
    row: Filter = keyword.custom_filter
    filter_change = FilterChange(
        context=change.context,
        action=None if change.irreversible is None else ("hide" if change.irreversible else "warn"),
        expires_in=change.expires_in,
    )
    changes_filter = (
        (filter_change.context is not None and list(filter_change.context) != row.context)
        or (filter_change.action is not None and filter_change.action != row.action)
        or filter_change.expires_in is not None
    )
    async with in_transaction():
        if changes_filter:
            if await FilterKeyword.filter(custom_filter_id=row.id).count() > 1:
                raise Invalid(MULTIPLE_KEYWORDS)
            await _update_filter(row, filter_change)
        await _update_keyword(keyword, change.phrase, change.whole_word)
    await _changed(row.account_id)  # type: ignore[attr-defined]
    return keyword


async def delete_v1(keyword: FilterKeyword) -> None:
    """Remove the keyword; its filter goes too when nothing else is left in it."""
    row: Filter = keyword.custom_filter
    async with in_transaction():
        await keyword.delete()
        left = await FilterKeyword.exists(custom_filter_id=row.id)
        if not left and not await FilterStatus.exists(custom_filter_id=row.id):
            await row.delete()
    await _changed(row.account_id)  # type: ignore[attr-defined]


async def v1_keywords(account: Account) -> list[FilterKeyword]:
    return (
        await FilterKeyword.filter(custom_filter__account_id=account.id)
        .select_related("custom_filter")
        .order_by("id")
    )
