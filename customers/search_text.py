"""A customer's search text: the lower-cased, unaccented "first last email" that the list's
free-text search matches with ``LIKE '%…%'``.

It is a stored generated column (``Customer.search_text``), computed by the database on
every write. PostgreSQL computes it with the SQL function ``customer_search_text`` (migration
0003, an immutable wrapper of ``unaccent``); SQLite with the Python function of the same
name, registered on each connection (``customers.apps``). Stored rather than computed per
search because a search rechecks every row the trigram index returns, and a function call
per row cost most of a common name's search; stored, the column also has statistics, so
the planner knows how many customers a term matches (migration 0007).
"""

import re
import unicodedata
from typing import Any

from django.db.models import Func, TextField

SEARCH_TEXT_FUNCTION = "customer_search_text"
# ``customer_phone_digits(phone)``: the digits of a phone number without a "(0)" and without
# leading zeros, so that "+49 (0)170 123-4567", "0170 1234567" and "1234567" all find it
# (migration 0009 indexes it on PostgreSQL).
PHONE_DIGITS_FUNCTION = "customer_phone_digits"
PHONE_TRUNK_ZERO = re.compile(r"\(0\)")
NOT_DIGITS = re.compile(r"[^0-9]")


def search_text_normalize(text: str) -> str:
    """Lower-case without accents: what both sides of a search are compared as (SQLite)."""
    decomposed = unicodedata.normalize("NFKD", (text or "").lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def sqlite_search_text(first_name: str | None, last_name: str | None, email: str | None) -> str:
    return search_text_normalize(f"{first_name or ''} {last_name or ''} {email or ''}")


def phone_digits(phone: str | None) -> str:
    """What ``customer_phone_digits`` makes of a phone number (the same on both databases)."""
    return NOT_DIGITS.sub("", PHONE_TRUNK_ZERO.sub("", phone or "")).lstrip("0")


class CustomerSearchText(Func):
    """``customer_search_text(first_name, last_name, email)``: the generated column's
    expression, the same SQL on both databases."""

    function = SEARCH_TEXT_FUNCTION
    output_field = TextField()


def sqlite_functions_register(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: SQLite gets the search functions PostgreSQL has."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            SEARCH_TEXT_FUNCTION, 3, sqlite_search_text, deterministic=True
        )
        connection.connection.create_function(
            PHONE_DIGITS_FUNCTION, 1, phone_digits, deterministic=True
        )
