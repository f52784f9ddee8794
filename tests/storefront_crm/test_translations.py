"""German and Italian: complete catalogues, a translated panel, money and dates in the
store's language."""

import ast
import gettext
import re
import shutil
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from tests.factories import CustomerFactory

LANGUAGES = ("de", "it")
LOCALE_DIR = Path(settings.BASE_DIR) / "storefront_crm" / "locale"
# What `makemessages` reads, the same set as the documented command
# (`--ignore=.venv --ignore=tests --ignore=bench`).
SOURCE_EXTENSIONS = {".py", ".html", ".txt"}
SOURCE_SKIP = {".venv", "tests", "bench"}
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdfr]|%[sdf]")


def po_entries(path: Path) -> list[dict]:
    """Each entry of a .po file: flags, msgid, msgid_plural and the msgstr forms."""
    entries = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8").strip()):
        entry: dict = {"flags": set(), "msgid": None, "msgid_plural": None, "msgstr": {}}
        current: tuple[str, int] | str | None = None
        for line in block.splitlines():
            if line.startswith("#~"):
                entry["obsolete"] = True
            elif line.startswith("#,"):
                entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            elif match := re.match(
                r'^(msgid_plural|msgid|msgstr(?:\[(\d+)\])?|msgctxt) (".*")$', line
            ):
                key, index, text = match.groups()
                value = ast.literal_eval(text)
                if key.startswith("msgstr"):
                    current = ("msgstr", int(index or 0))
                    entry["msgstr"][current[1]] = value
                else:
                    current = key
                    entry[key] = value
            elif line.startswith('"') and current is not None:
                value = ast.literal_eval(line)
                if isinstance(current, tuple):
                    entry["msgstr"][current[1]] += value
                else:
                    entry[current] += value
            else:
                raise AssertionError(f"{path}: cannot read line {line!r}")
        if entry["msgid"] is not None and not entry.get("obsolete"):
            entries.append(entry)
    return entries


def incomplete(entries: list[dict]) -> list[str]:
    """The msgids that are fuzzy or lack a translation (for any plural form)."""
    return [
        entry["msgid"] or "(the header)"
        for entry in entries
        if "fuzzy" in entry["flags"]
        or (entry["msgid"] and not all(entry["msgstr"].values()))
        or (entry["msgid_plural"] is not None and len(entry["msgstr"]) < 2)
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_committed_catalogue_is_complete_and_not_fuzzy(language):
    entries = po_entries(LOCALE_DIR / language / "LC_MESSAGES" / "django.po")

    assert len(entries) > 100
    assert incomplete(entries) == []
    header = entries[0]["msgstr"][0]
    assert f"Language: {language}\n" in header
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_every_placeholder(language):
    for entry in po_entries(LOCALE_DIR / language / "LC_MESSAGES" / "django.po"):
        if not entry["msgid"]:
            continue
        sources = [entry["msgid"], entry["msgid_plural"] or entry["msgid"]]
        for form, translated in entry["msgstr"].items():
            expected = sorted(PLACEHOLDER.findall(sources[min(form, 1)]))
            assert sorted(PLACEHOLDER.findall(translated)) == expected, entry["msgid"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches_the_po_file(language):
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    with (folder / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)

    for entry in po_entries(folder / "django.po"):
        if not entry["msgid"]:
            continue
        if entry.get("msgctxt") is not None:
            assert compiled.pgettext(entry["msgctxt"], entry["msgid"]) == entry["msgstr"][0]
        elif entry["msgid_plural"] is None:
            assert compiled.gettext(entry["msgid"]) == entry["msgstr"][0]
        else:
            for n, form in ((1, 0), (2, 1)):
                translated = compiled.ngettext(entry["msgid"], entry["msgid_plural"], n)
                assert translated == entry["msgstr"][form], entry["msgid"]


def test_every_string_in_the_current_source_is_translated(tmp_path, monkeypatch, settings):
    """Extracts the strings from today's code into a copy of the catalogues: a string added
    to a template or module after the last translation pass fails here until translated."""
    if not (shutil.which("xgettext") and shutil.which("msgmerge")):
        pytest.skip("GNU gettext (xgettext, msgmerge) is not installed")
    base = Path(settings.BASE_DIR)
    for top in base.iterdir():
        if top.name in SOURCE_SKIP or top.name.startswith("."):
            continue
        for path in [top, *top.rglob("*")]:
            if path.is_file() and (path.suffix in SOURCE_EXTENSIONS or path.name == "django.po"):
                relative = path.relative_to(base)
                (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, tmp_path / relative)
    settings.LOCALE_PATHS = [tmp_path / "storefront_crm" / "locale"]
    monkeypatch.chdir(tmp_path)

    call_command("makemessages", locale=list(LANGUAGES), no_obsolete=True, verbosity=0)

    for language in LANGUAGES:
        extracted = tmp_path / "storefront_crm/locale" / language / "LC_MESSAGES/django.po"
        missing = incomplete(po_entries(extracted))
        assert missing == [], (
            f"{language}: untranslated (makemessages, translate, compilemessages): {missing}"
        )


def panel_navigation(html: str) -> str:
    return re.search(r"<nav .*?</nav>", html, re.S).group(0)


def test_panel_navigation_in_german_by_browser_language(owner_client, store):
    response = owner_client.get(
        reverse("panel:dashboard", args=[store.slug]), HTTP_ACCEPT_LANGUAGE="de"
    )

    assert response.status_code == 200
    navigation = panel_navigation(response.content.decode())
    for label in ("Kunden", "Bestellungen", "Verlassene Warenkörbe", "Rechnungen", "Berichte"):
        assert f">{label}</a>" in navigation
    assert ">Customers</a>" not in navigation


def test_panel_navigation_in_italian_after_choosing_the_language(owner_client, store):
    dashboard = reverse("panel:dashboard", args=[store.slug])

    chosen = owner_client.post("/i18n/setlang/", {"language": "it", "next": dashboard})
    response = owner_client.get(dashboard)

    assert chosen.status_code == 302
    navigation = panel_navigation(response.content.decode())
    for label in ("Clienti", "Ordini", "Carrelli abbandonati", "Fatture", "Segmenti"):
        assert f">{label}</a>" in navigation
    assert "selected>Italiano</option>" in navigation
    assert ">Orders</a>" not in navigation


@pytest.mark.parametrize(
    ("store_language", "money", "day"),
    [
        ("de", "1.234,50\u00a0€", "07.03.2026"),
        ("it", "1.234,50\u00a0€", "07/03/2026"),
        ("en", "€1,234.50", "03/07/2026"),
    ],
)
def test_money_and_dates_follow_the_store_language(owner_client, store, store_language, money, day):
    store.language = store_language
    store.save(update_fields=["language"])
    CustomerFactory(
        store=store,
        total_spent=Decimal("1234.50"),
        orders_count=3,
        customer_since=datetime(2026, 3, 7, 12, 0, tzinfo=ZoneInfo("UTC")),
    )

    # The interface language is Italian whatever the store's language: formats follow the store.
    response = owner_client.get(
        reverse("panel:customers", args=[store.slug]), HTTP_ACCEPT_LANGUAGE="it"
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert money in html
    assert day in html


GETTEXT_FUNCTIONS = {"gettext", "gettext_lazy", "_", "gettext_noop", "pgettext", "pgettext_lazy"}


def test_strings_that_xgettext_cannot_see_are_in_the_catalogues_too():
    """xgettext skips calls inside f-strings: every literal passed to gettext anywhere in
    the Python source (read with ``ast``, which sees into f-strings) must be a msgid."""
    base = Path(settings.BASE_DIR)
    catalogues = {
        language: {
            entry["msgid"]
            for entry in po_entries(LOCALE_DIR / language / "LC_MESSAGES" / "django.po")
        }
        for language in LANGUAGES
    }
    missing = []
    for path in base.rglob("*.py"):
        relative = path.relative_to(base)
        if (
            relative.parts[0] in SOURCE_SKIP
            or relative.parts[0].startswith(".")
            or ("migrations" in relative.parts)
        ):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute)):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
            if name not in GETTEXT_FUNCTIONS or not node.args:
                continue
            message = node.args[1 if name.startswith("pgettext") else 0]
            if isinstance(message, ast.Constant) and isinstance(message.value, str):
                for language, msgids in catalogues.items():
                    if message.value not in msgids:
                        missing.append(f"{language}: {message.value!r} ({relative}:{node.lineno})")
    assert missing == []
