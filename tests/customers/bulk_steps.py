"""Reading a bulk action's step page (confirmation or question) as a browser would."""

import html
import re

from django.http import HttpResponse

HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def step_fields(response: HttpResponse) -> dict[str, list[str]]:
    """The hidden fields a step page sends back with its answer (the selection it showed
    among them), as a multi-valued form for the test client."""
    fields: dict[str, list[str]] = {}
    for name, value in HIDDEN_INPUT.findall(response.content.decode()):
        if name != "csrfmiddlewaretoken":
            fields.setdefault(html.unescape(name), []).append(html.unescape(value))
    return fields
