"""Every page is sent with a strict Content-Security-Policy, and no page carries the inline
script or style that such a policy refuses (so the browser tests' violation watch,
tests/conftest.py, stays quiet and an escaping slip in a template cannot run code).

New panel URL patterns are covered automatically (tests/panel_urls.py reads the URLconf).
"""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.panel_urls import panel_urls, rows_of_every_model

EXPECTED_DIRECTIVES = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "object-src 'none'",
]


class InlineCodeFinder(HTMLParser):
    """Lists what a strict policy would refuse: inline <script> and <style>, style
    attributes, on* event handlers, htmx's hx-on and javascript: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._open_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        found = dict(attrs)
        if tag == "script" and not found.get("src"):
            self._open_script = True
            self.problems.append(f"line {line}: inline <script>")
        if tag == "style":
            self.problems.append(f"line {line}: inline <style>")
        for name, value in attrs:
            if name == "style":
                self.problems.append(f"line {line}: style attribute on <{tag}>")
            elif name.startswith("on") or name.startswith("hx-on"):
                self.problems.append(f"line {line}: {name}= handler on <{tag}>")
            elif name in {"href", "action", "src"} and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"line {line}: javascript: URL on <{tag}>")


def inline_code_in(html: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(html)
    return finder.problems


def assert_strict_policy(response, url: str) -> None:
    policy = response.get("Content-Security-Policy", "")
    assert policy, f"{url} is sent without a Content-Security-Policy"
    directives = [part.strip() for part in policy.split(";")]
    for expected in EXPECTED_DIRECTIVES:
        assert expected in directives, f"{url}: {expected!r} missing from {policy!r}"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, policy


def test_the_finder_finds_inline_code():
    html = (
        '<script>alert(1)</script><script src="/static/js/panel.js"></script>'
        '<p style="color: red">x</p><button onclick="go()">go</button><style>p{}</style>'
        '<div hx-on:click="x()"></div><a href="javascript:void(0)">a</a>'
    )
    assert len(inline_code_in(html)) == 6


@pytest.mark.django_db
def test_every_panel_page_has_the_policy_and_no_inline_code(owner_client, store):
    checked = 0
    for _name, url, _names_a_row in panel_urls(store.slug, rows_of_every_model(store)):
        response = owner_client.get(url)
        assert_strict_policy(response, url)
        if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
            problems = inline_code_in(response.content.decode())
            assert not problems, f"{url}: " + "; ".join(problems)
            checked += 1
    assert checked > 30  # the sweep really walked the panel


@pytest.mark.django_db
def test_sign_in_and_shop_pages_have_the_policy_and_no_inline_code(client, store):
    urls = [
        reverse("login"),
        reverse("health"),
        reverse("shop:login", args=[store.slug]),
        reverse("shop:account", args=[store.slug]),
    ]
    for url in urls:
        response = client.get(url, follow=True)
        assert_strict_policy(response, url)
        if "text/html" in response.get("Content-Type", ""):
            problems = inline_code_in(response.content.decode())
            assert not problems, f"{url}: " + "; ".join(problems)
