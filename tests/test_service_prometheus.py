"""Tests for cave_auth.service.prometheus: the counters as Prometheus metrics."""

from __future__ import annotations

import subprocess
import sys

from prometheus_client import CollectorRegistry, generate_latest

from cave_auth.service import Checker, Request, Rule, Settings, TransportLookups
from cave_auth.service.prometheus import CheckerCollector
from cave_auth.testing import FakeTransport

API = "/auth/api/v1"
TOK = "tok-prom-5d2c7a9e"


def make_checker():
    fake = FakeTransport({("GET", API + "/user/cache"): {"id": 1}})
    settings = Settings("https://auth.example.org/auth")
    return Checker(settings, TransportLookups(settings.auth_url, fake))


def test_each_counter_is_exported_with_its_value_and_labels():
    """A scrape shows every counter as a _total with the collector's labels."""
    checker = make_checker()
    for _ in range(3):
        checker.check(
            Request("GET", headers={"authorization": f"Bearer {TOK}"}), Rule()
        )
    registry = CollectorRegistry()
    registry.register(CheckerCollector(checker, labels={"service": "mat"}))
    text = generate_latest(registry).decode()
    assert 'cave_auth_checker_hits_total{service="mat"} 2.0' in text
    assert 'cave_auth_checker_misses_total{service="mat"} 1.0' in text
    assert 'cave_auth_checker_upstream_lookups_total{service="mat"} 1.0' in text
    for name in checker.counters():
        assert f"cave_auth_checker_{name}_total" in text
    assert "# HELP cave_auth_checker_stale_served_total" in text
    assert TOK not in text


def test_a_checker_made_later_is_read_through_a_function():
    """Given a function, the collector exports nothing until it returns a checker."""
    made = []
    registry = CollectorRegistry()
    registry.register(CheckerCollector(lambda: made[0] if made else None))
    assert "cave_auth_checker" not in generate_latest(registry).decode()
    made.append(make_checker())
    assert "cave_auth_checker_hits_total 0.0" in generate_latest(registry).decode()


def test_importing_without_prometheus_client_names_the_extra():
    """Without prometheus_client the import names the pip command."""
    code = (
        "import sys; sys.modules['prometheus_client'] = None\n"
        "sys.modules['prometheus_client.core'] = None\n"
        "try:\n"
        "    import cave_auth.service.prometheus\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "pip install 'cave-auth[prometheus]'" in out
