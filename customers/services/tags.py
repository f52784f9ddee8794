"""Tags: the store's tags (at most ``STOREFRONT_MAX_TAGS_PER_STORE``; rename, merge,
delete) and putting them on customers or taking them off."""

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from storefront_crm.errors import ServiceError
from storefront_crm.models import Store

from ..models import (
    Customer,
    CustomerTag,
    TaggedCustomer,
)
from ..selectors import other_rows
from .activity import activity_record
from .store_setup import free_name, store_event_record, store_setup_lock


class TagLimitExceeded(ServiceError):
    code = "tag_limit"


class TagNameTaken(ServiceError):
    """A rename to a name another tag has; ``details["other"]`` is that tag (merge instead)."""

    code = "tag_name_taken"


def tag_names_clean(names: Iterable[str]) -> list[str]:
    """Trimmed, de-duplicated (case-insensitively), order kept."""
    seen: dict[str, str] = {}
    for name in names:
        name = " ".join((name or "").split())[:100]
        if name and name.lower() not in seen:
            seen[name.lower()] = name
    return list(seen.values())


@transaction.atomic
def tags_ensure(*, store: Store, names: Iterable[str]) -> list[CustomerTag]:
    """The store's tags for ``names``, creating missing ones within the per-store limit."""
    names = tag_names_clean(names)
    if not names:
        return []
    # One writer of a store's tags at a time, so two requests cannot pass the limit together.
    store_setup_lock(store)
    # At most a few hundred rows: the limit keeps this read small.
    existing = {tag.name.lower(): tag for tag in CustomerTag.objects.filter(store=store)}
    missing = [name for name in names if name.lower() not in existing]
    if missing:
        limit = settings.STOREFRONT_MAX_TAGS_PER_STORE
        count = len(existing)
        if count + len(missing) > limit:
            raise TagLimitExceeded(
                ngettext(
                    "A store can have at most %(limit)d tags; it has %(count)d, and "
                    "%(new)d more would pass the limit (%(names)s).",
                    "A store can have at most %(limit)d tags; it has %(count)d, and "
                    "%(new)d more would pass the limit (%(names)s).",
                    len(missing),
                )
                % {
                    "limit": limit,
                    "count": count,
                    "new": len(missing),
                    "names": ", ".join(missing[:5]),
                },
                field="tags",
            )
        for name in missing:
            existing[name.lower()] = _tag_create(store, name)
    return [existing[name.lower()] for name in names]


def _tag_create(store: Store, name: str) -> CustomerTag:
    return CustomerTag.objects.create(store=store, name=name, slug=_tag_slug_free(store, name))


@transaction.atomic
def customer_tags_add(
    *, store: Store, customer: Customer, names: Iterable[str], actor: Any = None
) -> list[CustomerTag]:
    tags = tags_ensure(store=store, names=names)
    have = set(
        TaggedCustomer.objects.filter(store=store, content_object=customer).values_list(
            "tag_id", flat=True
        )
    )
    new = [tag for tag in tags if tag.pk not in have]
    TaggedCustomer.objects.bulk_create(
        [TaggedCustomer(store=store, content_object=customer, tag=tag) for tag in new]
    )
    if new:
        activity_record(
            store=store,
            customer=customer,
            actor=actor,
            verb="tags.added",
            tags=[tag.name for tag in new],
        )
    return new


@transaction.atomic
def customer_tags_remove(
    *, store: Store, customer: Customer, names: Iterable[str], actor: Any = None
) -> int:
    lowered = {name.lower() for name in tag_names_clean(names)}
    links = [
        link
        for link in TaggedCustomer.objects.select_related("tag").filter(
            store=store, content_object=customer
        )
        if link.tag.name.lower() in lowered
    ]
    TaggedCustomer.objects.filter(pk__in=[link.pk for link in links]).delete()
    if links:
        activity_record(
            store=store,
            customer=customer,
            actor=actor,
            verb="tags.removed",
            tags=[link.tag.name for link in links],
        )
    return len(links)


def _tag_of_store(store: Store, tag: CustomerTag) -> None:
    if tag.store_id != store.pk:
        raise ServiceError(_("That tag does not exist."))


def _tag_name_clean(name: str) -> str:
    cleaned = tag_names_clean([name])
    if not cleaned:
        raise ServiceError(_("Enter a name."), field="name")
    _tag_name_without_comma(cleaned[0], field="name")
    return cleaned[0]


def _tag_name_without_comma(name: str, *, field: str) -> None:
    # The profile's tag input, bulk actions and imports separate tags with commas: a tag
    # with a comma in its name could never be put on a customer.
    if "," in name:
        raise ServiceError(
            _(
                "A tag name cannot contain a comma (“%(name)s”): commas separate tags when "
                "they are entered on a customer."
            )
            % {"name": name},
            field=field,
        )


def _tag_slug_free(store: Store, name: str, *, except_pk: int | None = None) -> str:
    """A slug for ``name`` that no other tag of the store has (``name-2``, ``name-3``, …)."""
    base = slugify(name, allow_unicode=True)[:90] or "tag"
    others = other_rows(CustomerTag.objects.filter(store=store, slug__startswith=base), except_pk)
    return free_name(base, set(others.values_list("slug", flat=True)), separator="-")


@transaction.atomic
def tag_create(*, store: Store, actor: Any, name: str) -> CustomerTag:
    """A new store tag with no customers yet. Creation goes through ``tags_ensure``, so the
    per-store tag limit holds; a name the store already has (any letter case) is refused,
    and so is a comma (it separates tags wherever they are typed)."""
    name = _tag_name_clean(name)
    store_setup_lock(store)
    existing = CustomerTag.objects.filter(store=store, name__iexact=name).first()
    if existing is not None:
        raise ServiceError(
            _("The store already has the tag “%(name)s”.") % {"name": existing.name},
            field="name",
        )
    limit = settings.STOREFRONT_MAX_TAGS_PER_STORE
    if CustomerTag.objects.filter(store=store).count() >= limit:
        # Checked here too for a message about one new tag (tags_ensure's is about many).
        raise TagLimitExceeded(
            ngettext(
                "A store can have at most %(limit)d tag and this one has reached the limit: "
                "merge or delete a tag before adding a new one.",
                "A store can have at most %(limit)d tags and this one has reached the limit: "
                "merge or delete a tag before adding a new one.",
                limit,
            )
            % {"limit": limit},
            field="name",
        )
    tag = tags_ensure(store=store, names=[name])[0]
    store_event_record(store=store, actor=actor, verb="tag.created", tag=tag.name)
    return tag


@transaction.atomic
def tag_rename(*, store: Store, actor: Any, tag: CustomerTag, name: str) -> CustomerTag:
    """Rename a store tag. A name another tag already has (any letter case) is refused with
    ``TagNameTaken``, whose ``details["other"]`` is that tag: merging is the way to join them.
    A comma is refused (it separates tags wherever they are typed).
    """
    _tag_of_store(store, tag)
    name = _tag_name_clean(name)
    if name == tag.name:
        return tag
    store_setup_lock(store)
    other = CustomerTag.objects.filter(store=store, name__iexact=name).exclude(pk=tag.pk).first()
    if other is not None:
        raise TagNameTaken(
            _(
                "Another tag is already called “%(name)s”. Merge “%(tag)s” into it instead, "
                "so its customers keep one tag."
            )
            % {"name": other.name, "tag": tag.name},
            field="name",
            other=other,
        )
    old = tag.name
    tag.name = name
    tag.slug = _tag_slug_free(store, name, except_pk=tag.pk)
    tag.save(update_fields=["name", "slug"])
    store_event_record(store=store, actor=actor, verb="tag.renamed", tag=[old, name])
    return tag


@transaction.atomic
def tag_merge(*, store: Store, actor: Any, source: CustomerTag, target: CustomerTag) -> int:
    """Merge ``source`` into ``target``: every customer tagged ``source`` ends up tagged
    ``target`` exactly once, and ``source`` is deleted. Returns how many customers gained
    ``target``. A target whose name has a comma (made before commas were refused) is
    refused: its customers could not be given it again; rename it first."""
    _tag_of_store(store, source)
    _tag_of_store(store, target)
    if source.pk == target.pk:
        raise ServiceError(_("A tag cannot be merged into itself."), field="target")
    _tag_name_without_comma(target.name, field="target")
    store_setup_lock(store)
    already_tagged = TaggedCustomer.objects.filter(
        store=store, tag=target, content_object_id=OuterRef("content_object_id")
    )
    # Re-point the links of customers who lack the target; the rest would be duplicates
    # and go with the source tag.
    moved = (
        TaggedCustomer.objects.filter(store=store, tag=source)
        .exclude(Exists(already_tagged))
        .update(tag=target)
    )
    dropped, _by_model = TaggedCustomer.objects.filter(store=store, tag=source).delete()
    source_name = source.name
    source.delete()
    store_event_record(
        store=store,
        actor=actor,
        verb="tag.merged",
        tag=source_name,
        into=target.name,
        moved=moved,
        already_tagged=dropped,
    )
    return moved


@transaction.atomic
def tag_delete(*, store: Store, actor: Any, tag: CustomerTag) -> int:
    """Delete a store tag and take it off every customer. Returns how many had it."""
    _tag_of_store(store, tag)
    store_setup_lock(store)
    removed, _by_model = TaggedCustomer.objects.filter(store=store, tag=tag).delete()
    name = tag.name
    tag.delete()
    store_event_record(store=store, actor=actor, verb="tag.deleted", tag=name, customers=removed)
    return removed
