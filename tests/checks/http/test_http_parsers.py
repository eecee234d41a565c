"""Cache-Control and Set-Cookie as the http check reads them: quoted arguments and values that
hold commas and semicolons, field-qualified directives, and cookie values a strict parser refuses."""

from __future__ import annotations

import httpx
import pytest

from gate.checks.http.caching import cache_control, field_names, set_cookie_on_cacheable, shared_cacheable, whole
from gate.checks.http.headers import HeaderRules, cookies, parse_set_cookie
from gate.checks.http.transport import Page


def _page(*headers: tuple[str, str], url: str = "https://app.example/") -> Page:
    return Page(url, "GET", 200, httpx.Headers(list(headers)), b"", False, 0.0)


def test_a_quoted_no_cache_list_is_one_argument_whatever_its_order() -> None:
    for value in ('no-cache="Set-Cookie, Authorization"', 'no-cache="Authorization, Set-Cookie"'):
        directives = cache_control(_page(("cache-control", f"public, max-age=600, {value}")))
        assert set(directives) == {"public", "max-age", "no-cache"}
        assert field_names(directives["no-cache"]) == {"set-cookie", "authorization"}
        assert not whole(directives, "no-cache")


def test_cache_control_spread_over_several_header_lines_is_read_whole() -> None:
    directives = cache_control(_page(("cache-control", "Public"), ("cache-control", "Max-Age=60")))
    assert directives == {"public": None, "max-age": "60"}


def test_private_for_named_fields_only_leaves_the_response_shared_cacheable() -> None:
    assert shared_cacheable(_page(("cache-control", 'private="Set-Cookie", max-age=600'))) is not None
    assert shared_cacheable(_page(("cache-control", "private, max-age=600"))) is None
    # no-cache naming fields does not make the whole response revalidate.
    assert shared_cacheable(_page(("cache-control", 'max-age=600, no-cache="Set-Cookie"'))) is not None
    assert shared_cacheable(_page(("cache-control", "max-age=600, no-cache"))) is None


@pytest.mark.parametrize(
    ("cache", "flagged"),
    [
        ('public, max-age=600, no-cache="Authorization, Set-Cookie"', False),
        ('public, max-age=600, private="Set-Cookie"', False),
        ('public, max-age=600, no-cache="Authorization"', True),
    ],
)
def test_set_cookie_on_a_cacheable_response_is_safe_only_when_caches_drop_it(cache: str, flagged: bool) -> None:
    page = _page(("cache-control", cache), ("set-cookie", 'prefs="a;b"; Secure'))
    found = list(set_cookie_on_cacheable(page))
    assert bool(found) is flagged
    if found:
        assert "(prefs)" in found[0].text


def test_a_quoted_cookie_value_with_a_semicolon_is_one_value() -> None:
    cookie = parse_set_cookie('sid="a;b"; Path=/; Secure; HttpOnly; SameSite=Lax')
    assert cookie.name == "sid"
    assert cookie.attributes == {"": "a;b", "path": "/", "secure": "", "httponly": "", "samesite": "Lax"}


def test_a_value_the_strict_parser_refuses_still_shows_its_flags() -> None:
    # Browsers accept spaces in a value; the flags after it must still be read.
    cookie = parse_set_cookie("sessionid=a b c; SECURE; httponly; samesite=strict")
    assert cookie.name == "sessionid" and cookie.attributes[""] == "a b c"
    assert {"secure", "httponly"} <= set(cookie.attributes) and cookie.attributes["samesite"] == "strict"


def test_unknown_attributes_do_not_hide_a_session_cookie() -> None:
    rules = HeaderRules.load()
    for header in ("sessionid=abc; Path=/; Partitioned", "sessionid=abc; Priority=High; Path=/"):
        found = {o.rule for o in cookies(_page(("set-cookie", header)), rules)}
        assert found == {"http.cookies.not-secure", "http.cookies.not-httponly", "http.cookies.no-samesite"}


def test_a_quoted_session_cookie_with_every_flag_is_fine_and_a_cleared_one_is_ignored() -> None:
    rules = HeaderRules.load()
    good = _page(("set-cookie", 'sessionid="a;b"; Path=/; Secure; HttpOnly; SameSite=Lax'))
    cleared = _page(("set-cookie", 'sessionid=""; Max-Age=0'))
    assert list(cookies(good, rules)) == [] and list(cookies(cleared, rules)) == []
