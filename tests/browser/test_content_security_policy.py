"""The violation watch every browser test runs under (tests/conftest.py) sees a refused
inline script and style; the pages themselves are checked by every other browser test."""

import pytest

from tests.conftest import watch_csp_violations

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_the_watch_reports_inline_script_and_style_the_policy_refuses(browser, live_server):
    # given a page of ours under the policy, watched
    context = browser.new_context()
    violations = watch_csp_violations(context)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.wait_for_load_state()
    assert violations == []

    # when code slipped into the page tries inline script and an inline style
    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.ran = true";
          document.body.append(script);
          document.body.insertAdjacentHTML("beforeend", '<p style="color: red">x</p>');
        }"""
    )
    page.wait_for_timeout(300)
    ran = page.evaluate("() => window.ran === true")
    context.close()

    # then neither ran and both were reported
    assert ran is False
    assert any("script-src" in v for v in violations), violations
    assert any("style-src" in v for v in violations), violations
