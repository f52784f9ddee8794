"""Every panel page, walked with rows of the member's own store, passes the accessibility
rules that can be read off the HTML: the rules of axe-core that an audit of the panel
found broken once (a form with a role it may not have, a table header without text),
and the basics every page must keep (named controls, buttons and links; alt texts; one
element per id; the page's language).

New URL patterns are covered automatically: the sweep reads the URLconf (tests/panel_urls.py).
Contrast and focus need a browser; an axe-core audit in chromium found no contrast issue
(light and dark) when this sweep was written.
"""

from html.parser import HTMLParser

import pytest

from tests.panel_urls import panel_urls, rows_of_every_model

# Controls a person fills in or picks (hidden fields and buttons are named otherwise).
UNNAMED_INPUT_TYPES = {"hidden", "submit", "button", "reset", "image"}
# ARIA roles a <form> may take (https://www.w3.org/TR/html-aria/#el-form).
FORM_ROLES = {"form", "search", "none", "presentation"}


class _Element:
    def __init__(self, tag: str, attrs: dict[str, str | None], line: int) -> None:
        self.tag, self.attrs, self.line = tag, attrs, line
        self.text = ""  # the text inside it, children included
        # A control or image with its own name inside it (a header's select-all checkbox).
        self.named_inside = False
        self.inside_label = False


class PageChecker(HTMLParser):
    """Reads a page and lists what breaks the rules, each with its line."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[_Element] = []
        self.controls: list[_Element] = []
        self.label_targets: set[str] = set()
        self.ids: dict[str, int] = {}
        self.problems: list[str] = []
        self.html_lang: str | None = None
        self.saw_html = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = _Element(tag, dict(attrs), self.getpos()[0])
        found = element.attrs
        if tag == "html":
            self.saw_html, self.html_lang = True, found.get("lang")
        element_id = found.get("id")
        if element_id:
            if element_id in self.ids:
                self.problems.append(
                    f"line {element.line}: id {element_id!r} is used twice "
                    f"(first on line {self.ids[element_id]})"
                )
            self.ids.setdefault(element_id, element.line)
        if tag == "label" and found.get("for"):
            self.label_targets.add(found["for"] or "")
        if tag == "form" and found.get("role") and found["role"] not in FORM_ROLES:
            self.problems.append(f"line {element.line}: a <form> may not have role={found['role']}")
        if tag == "img" and "alt" not in found:
            self.problems.append(f"line {element.line}: <img> without alt")
        is_control = tag in {"select", "textarea"} or (
            tag == "input" and (found.get("type") or "text") not in UNNAMED_INPUT_TYPES
        )
        if is_control:
            element.inside_label = any(e.tag == "label" for e in self.open)
            self.controls.append(element)
        if self.open and (found.get("aria-label") or (tag == "img" and found.get("alt"))):
            self.open[-1].named_inside = True
        if tag not in self.VOID:
            self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        if not any(e.tag == tag for e in self.open):
            return
        while self.open:
            element = self.open.pop()
            if self.open:
                self.open[-1].text += element.text
                self.open[-1].named_inside |= element.named_inside
            if element.tag == tag:
                self._closed(element)
                break

    def handle_data(self, data: str) -> None:
        if self.open:
            self.open[-1].text += data

    def _closed(self, element: _Element) -> None:
        named = bool(
            element.text.strip()
            or element.named_inside
            or element.attrs.get("aria-label")
            or element.attrs.get("aria-labelledby")
            or element.attrs.get("title")
        )
        if element.tag == "th" and not named:
            self.problems.append(f"line {element.line}: a table header without text")
        if element.tag == "button" and not named:
            self.problems.append(f"line {element.line}: a button without a name")
        if element.tag == "a" and element.attrs.get("href") is not None and not named:
            self.problems.append(f"line {element.line}: a link without text")

    def close(self) -> None:
        super().close()
        for control in self.controls:
            attrs = control.attrs
            if not (
                control.inside_label
                or attrs.get("aria-label")
                or attrs.get("aria-labelledby")
                or (attrs.get("id") and attrs["id"] in self.label_targets)
            ):
                self.problems.append(
                    f"line {control.line}: <{control.tag} name={attrs.get('name')!r}> has no label"
                )
        if self.saw_html and not self.html_lang:
            self.problems.append("<html> without lang")


def page_problems(html: str) -> list[str]:
    checker = PageChecker()
    checker.feed(html)
    checker.close()
    return checker.problems


def test_the_checker_finds_what_axe_found():
    html = (
        '<html><body><form role="group"><input name="q"></form>'
        '<table><tr><th></th><th><span class="visually-hidden">Actions</span></th></tr></table>'
        '<label for="a">A</label><input id="a" name="a"><label>B <input name="b"></label>'
        '<button aria-label="Close">×</button><a href="/x"></a><p id="a"></p>'
        '<table><tr><th><input type="checkbox" aria-label="Select all"></th></tr></table>'
        '<label>Status <select name="s"><option>All</option></select></label></body></html>'
    )
    problems = page_problems(html)
    assert any("may not have role=group" in p for p in problems)
    assert any("table header without text" in p for p in problems)
    assert any("name='q'> has no label" in p for p in problems)
    assert any("link without text" in p for p in problems)
    assert any("id 'a' is used twice" in p for p in problems)
    assert any("without lang" in p for p in problems)
    assert not any(
        "name='a'" in p or "name='b'" in p or "name='s'" in p or "button" in p for p in problems
    )
    assert sum("table header" in p for p in problems) == 1  # the select-all header is named


@pytest.mark.django_db
def test_every_panel_page_passes_the_html_accessibility_rules(owner_client, store):
    checked, failures = 0, {}
    for _name, url, _names_a_row in panel_urls(store.slug, rows_of_every_model(store)):
        response = owner_client.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue  # a POST-only action, a redirect or a download
        problems = page_problems(response.content.decode())
        if problems:
            failures[url] = problems
        checked += 1
    assert checked >= 20, f"only {checked} pages answered 200"
    assert not failures, failures
