"""`genepair token` and `genepair serve` as a user runs them (issue #15): the token alone on
the last line and stored only as its hash, revocation, named errors for an unknown token,
a bad name and --no-auth off loopback; a real server with --no-auth answering on 127.0.0.1."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from support.service import Server, copy_duckdb

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wh(built_duckdb, tmp_path_factory):
    return copy_duckdb(built_duckdb, tmp_path_factory.mktemp("cli"))


def test_token_create_prints_the_token_alone_on_the_last_line_and_keeps_its_hash(wh):
    out = wh.cli("token", "create", "--role", "reviewer", "--name", "carol", check=True).stdout
    lines = out.strip().splitlines()
    token = lines[-1]
    assert len(lines) == 2 and token.startswith("gp_") and " " not in token and len(token) > 40
    row = wh.query("select token_id, token_role, token_hash from meta.api_tokens where token_name = 'carol'")
    assert row == [(token.split("_")[1], "reviewer", hashlib.sha256(token.encode()).hexdigest())]
    assert token not in str(wh.query("select * from meta.api_tokens"))
    listed = wh.cli("token", "list", check=True).stdout
    assert "carol" in listed and token not in listed and "active" in listed
    again = wh.cli("token", "create", "--role", "reader", "--name", "carol")
    assert again.returncode == 1 and again.stderr.startswith("error 55012 TOKEN_NAME_INVALID:")
    bad = wh.cli("token", "create", "--role", "reader", "--name", "not a name")
    assert bad.returncode == 1 and bad.stderr.startswith("error 55012 TOKEN_NAME_INVALID:")
    revoked = wh.cli("token", "revoke", "carol", check=True)
    assert revoked.stdout.strip() == "revoked 1 token (carol)"
    missing = wh.cli("token", "revoke", "carol")
    assert missing.returncode == 1 and missing.stderr.startswith("error 55010 TOKEN_NOT_FOUND:")
    assert wh.query("select count(*) from meta.api_tokens where revoked_at is not null") == [(1,)]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::"])
def test_no_auth_is_refused_off_loopback(wh, host):
    got = wh.cli("serve", "--no-auth", "--host", host, "--port", "8799", timeout=60)
    assert got.returncode == 1
    assert got.stderr.startswith("error 55011 NO_AUTH_NOT_LOCAL:") and "Traceback" not in got.stderr


def test_no_auth_serves_one_local_user_on_loopback(wh):
    with Server(wh.env, wh.root, "--no-auth") as server:
        top = httpx.get(f"{server.url}/analytics/pairs/top", params={"limit": 3}, timeout=30)
        assert top.status_code == 200 and len(top.json()["rows"]) == 3
        page = httpx.get(f"{server.url}/", timeout=30)
        assert page.status_code == 200 and '<b id="who">local</b>' in page.text
        assert httpx.get(f"{server.url}/openapi.json", timeout=30).json()["info"]["title"].startswith("Gene-pair")
        out = server.output()
    assert "without tokens (--no-auth)" in out and "GET /analytics/pairs/top 200" in out
