"""Tests for cave_auth.service.configure: the Flask drop-in's variables, read once.

Each variable of ``middle_auth_client`` (and the new ``TOKEN_CACHE_*`` ones)
ends up in the checker it builds; a malformed number names its variable;
``TOKEN_CACHE_REDIS_URL`` gives a cache on a real redis-server. The ASGI
middleware's ``from_env`` builds its checker the same way.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trustme
from redis_support import RedisServer, emptied, serve

from cave_auth.service import LookupCache
from cave_auth.service.asgi import AuthASGIMiddleware
from cave_auth.service.configure import CheckerOptions
from cave_auth.testing import FakeAsyncTransport, FakeTransport

AUTH = {"AUTH_URL": "auth.example.org/auth"}


async def app(scope, receive, send):
    raise AssertionError("not called")


def checker_from(environ):
    options = CheckerOptions.from_env(environ)
    return options.checker(options.lookups(FakeTransport()))


@pytest.mark.parametrize(
    ("variable", "value", "read"),
    [
        ("TOKEN_NAME", "my_token", lambda c: c.settings.token_name == "my_token"),
        ("AUTH_DISABLED", "true", lambda c: c.settings.disabled),
        ("TOKEN_CACHE_MAXSIZE", "7", lambda c: c.cache.maxsize == 7),
        ("TOKEN_CACHE_TTL", "42", lambda c: c.cache.ttl == 42.0),
        ("TOKEN_CACHE_REJECTED_TTL", "0.5", lambda c: c.cache.rejected_ttl == 0.5),
        ("TOKEN_CACHE_STALE_IF_ERROR", "600", lambda c: c.cache.stale_if_error == 600),
        ("TOKEN_CACHE_MAX_LOOKUPS", "3", lambda c: c.max_lookups == 3),
        ("TOKEN_CACHE_MAX_LOOKUPS", "0", lambda c: c.max_lookups is None),
        ("TOKEN_CACHE_SKIP_LIMIT", "2", lambda c: c.refresh.limit == 2),
        ("TOKEN_CACHE_SKIP_WINDOW_SEC", "9", lambda c: c.refresh.window == 9.0),
        (
            "STICKY_AUTH_URL",
            "login.example.org/sticky_auth",
            lambda c: (
                c.settings.sticky_auth_url == "https://login.example.org/sticky_auth"
            ),
        ),
    ],
)
def test_each_variable_reaches_the_checker(variable, value, read):
    """A variable of the Flask drop-in sets the part of the checker it names."""
    assert not read(checker_from(AUTH))
    assert read(checker_from({**AUTH, variable: value}))


def test_the_auth_url_falls_back_as_in_middle_auth_client():
    """AUTH_URL, else AUTH_URI, else localhost:5000/auth; the sticky URL defaults to it."""
    assert CheckerOptions.from_env({}).auth_url == "https://localhost:5000/auth"
    only_uri = CheckerOptions.from_env({"AUTH_URI": "a.example/auth"})
    assert (only_uri.auth_url, only_uri.sticky_auth_url) == (
        "https://a.example/auth",
        "https://a.example/auth",
    )
    both = CheckerOptions.from_env({"AUTH_URI": "a.example/auth", **AUTH})
    assert both.auth_url == "https://auth.example.org/auth"


@pytest.mark.parametrize("value", ["True", "1", "yes", ""])
def test_auth_disabled_is_only_the_word_true(value):
    """AUTH_DISABLED disables checking only when it is exactly 'true'."""
    assert not CheckerOptions.from_env({"AUTH_DISABLED": value}).disabled


def test_the_dataset_override_is_read():
    """DEBUG_OVERRIDE_DATASET_LOOKUP is kept for the Flask helpers."""
    options = CheckerOptions.from_env({"DEBUG_OVERRIDE_DATASET_LOOKUP": "minnie"})
    assert options.dataset_override == "minnie"


NUMBERS = [
    "TOKEN_CACHE_MAXSIZE",
    "TOKEN_CACHE_TTL",
    "TOKEN_CACHE_REJECTED_TTL",
    "TOKEN_CACHE_STALE_IF_ERROR",
    "TOKEN_CACHE_MAX_LOOKUPS",
    "TOKEN_CACHE_LOCAL_TTL",
    "TOKEN_CACHE_SKIP_LIMIT",
    "TOKEN_CACHE_SKIP_WINDOW_SEC",
]


@pytest.mark.parametrize("variable", NUMBERS)
def test_a_malformed_number_names_its_variable_and_value(variable):
    """A number variable that is not one raises ValueError naming both."""
    with pytest.raises(ValueError, match=f"{variable} must be .*'5 min'") as raised:
        CheckerOptions.from_env({variable: "5 min"})
    assert raised.value.__context__ is None
    assert raised.value.__cause__ is None


def test_trusted_origins_are_read_and_a_malformed_one_is_named():
    """AUTH_TRUSTED_ORIGINS (commas or spaces) reaches the settings; a bad one is named."""
    environ = {
        **AUTH,
        "AUTH_TRUSTED_ORIGINS": "https://a.example, http://B.example:8080",
    }
    assert checker_from(environ).settings.trusted_origins == {
        "https://a.example",
        "http://b.example:8080",
    }
    assert checker_from(AUTH).settings.trusted_origins == frozenset()
    with pytest.raises(ValueError, match=r"AUTH_TRUSTED_ORIGINS: 'a\.example' is not"):
        CheckerOptions.from_env({**AUTH, "AUTH_TRUSTED_ORIGINS": "a.example"})


def test_a_count_must_be_a_whole_number():
    """TOKEN_CACHE_MAXSIZE=1.5 is refused as not a whole number."""
    with pytest.raises(ValueError, match="TOKEN_CACHE_MAXSIZE must be a whole number"):
        CheckerOptions.from_env({"TOKEN_CACHE_MAXSIZE": "1.5"})


def test_the_redis_url_is_not_shown():
    """The options' repr does not show a Redis URL, which may hold a password."""
    options = CheckerOptions.from_env(
        {"TOKEN_CACHE_REDIS_URL": "redis://:s3cret@redis.example:6379/0"}
    )
    assert "s3cret" not in repr(options)
    assert "redis_url='<set>'" not in repr(options)
    assert "redis_url=<set>" in repr(options)


def test_the_service_token_is_not_shown_and_reaches_the_settings():
    """The service's own token reaches the decision's settings but never a repr."""
    token = "f" * 32
    options = CheckerOptions(AUTH["AUTH_URL"], service_token=token)
    assert token not in repr(options)
    assert "service_token=<set>" in repr(options)
    assert options.settings().service_token == token
    assert token not in repr(options.settings())


def test_the_transport_reads_the_proxy_and_ca_variables(tmp_path):
    """transport_from_env honours HTTPS_PROXY, NO_PROXY and REQUESTS_CA_BUNDLE."""
    bundle = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(bundle))
    environ = {
        **AUTH,
        "HTTPS_PROXY": "http://proxy.example.org:3128",
        "NO_PROXY": "internal.example.org",
        "REQUESTS_CA_BUNDLE": str(bundle),
    }
    options = CheckerOptions.from_env(environ)
    transport = options.transport_from_env(environ)
    assert dict(transport.proxy_rules.proxies) == {
        "https": "http://proxy.example.org:3128"
    }
    assert transport.proxy_rules.proxy_for("https", "internal.example.org", 443) is None
    assert transport.ca_certs == str(bundle)
    assert transport.timeout == 5.0
    assert not transport.allow_insecure_http
    explicit = options.transport()
    assert dict(explicit.proxy_rules.proxies) == {}


def test_an_http_auth_url_allows_plain_http():
    """AUTH_URL with http:// gets a transport that may send tokens over http."""
    environ = {"AUTH_URL": "http://127.0.0.1:9/auth"}
    options = CheckerOptions.from_env(environ)
    assert options.transport_from_env(environ).allow_insecure_http
    assert options.transport().allow_insecure_http


def test_a_given_cache_is_used_exactly():
    """checker(cache=...) keeps answers in that cache, whatever the options say."""
    cache = LookupCache(ttl=1)
    options = CheckerOptions.from_env({**AUTH, "TOKEN_CACHE_TTL": "60"})
    assert options.checker(options.lookups(FakeTransport()), cache=cache).cache is cache


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    yield from serve()


def test_token_cache_redis_url_gives_a_redis_cache(redis_server):
    """TOKEN_CACHE_REDIS_URL and TOKEN_CACHE_LOCAL_TTL make a RedisCache."""
    from cave_auth.service.redis import RedisCache

    checker = checker_from(
        {
            **AUTH,
            "TOKEN_CACHE_REDIS_URL": emptied(redis_server),
            "TOKEN_CACHE_LOCAL_TTL": "2.5",
            "TOKEN_CACHE_TTL": "60",
        }
    )
    cache = checker.cache
    assert isinstance(cache, RedisCache)
    assert (cache.local_ttl, cache.ttl, cache.shared) == (2.5, 60.0, True)
    cache.close()


def test_asgi_from_env_builds_its_checker_from_the_variables(redis_server):
    """AuthASGIMiddleware.from_env reads the Flask drop-in's variables, Redis included."""
    from cave_auth.service.redis import RedisCache

    environ = {
        **AUTH,
        "STICKY_AUTH_URL": "login.example.org/sticky_auth",
        "TOKEN_CACHE_TTL": "60",
        "TOKEN_CACHE_MAX_LOOKUPS": "2",
        "TOKEN_CACHE_REDIS_URL": emptied(redis_server),
        "HTTPS_PROXY": "http://proxy.example.org:3128",
    }
    middleware = AuthASGIMiddleware.from_env(app, environ, options="check")
    checker = middleware.checker
    assert checker.settings.sticky_auth_url == "https://login.example.org/sticky_auth"
    assert (checker.cache.ttl, checker.max_lookups) == (60.0, 2)
    assert isinstance(checker.cache, RedisCache)
    assert dict(checker.lookups.transport.proxy_rules.proxies) == {
        "https": "http://proxy.example.org:3128"
    }
    assert middleware.options == "check"
    assert middleware.async_lookups is None  # worker-thread lookups by default
    checker.cache.close()


def test_asgi_from_env_uses_a_given_async_transport():
    """from_env(transport=...) looks facts up with that async transport."""
    fake = FakeAsyncTransport({})
    middleware = AuthASGIMiddleware.from_env(app, AUTH, transport=fake)
    assert middleware.async_lookups is not None
    assert middleware.async_lookups.transport is fake


def test_asgi_from_env_refuses_a_malformed_variable():
    """A malformed number is an error at from_env, naming the variable."""
    with pytest.raises(ValueError, match="TOKEN_CACHE_TTL"):
        AuthASGIMiddleware.from_env(app, {**AUTH, "TOKEN_CACHE_TTL": "five"})
