"""The middleware stack: hosts, HTTPS, proxy headers, security headers, size limits, compression."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from admin_app.main import SESSION_COOKIE, create_app
from tests.conftest import make_settings
from tests.helpers import PASSWORD, create_admin, fetch


def test_bad_host_gets_400_everywhere_but_the_probes(client):
    for path in ("/", "/admin/login", "/static/app.css"):
        assert client.get(path, headers={"host": "evil.example"}).status_code == 400, path


def test_a_good_host_seen_before_lets_no_other_host_in(client):
    """Allowed Host headers are remembered; a bad one still gets 400 after them."""
    for _ in range(2):
        assert client.get("/admin/login").status_code == 200
        assert client.get("/admin/login", headers={"host": "evil.example"}).status_code == 400
        assert client.get("/admin/login", headers={"host": "testserver:80"}).status_code == 200


def test_security_headers_and_a_nonce_for_every_inline_script(client):
    response = client.get("/admin/login")
    headers = response.headers
    csp = headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0], "no inline script"
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in headers, "no HSTS over plain http"
    scripts = re.findall(r"<script\b[^>]*>", response.text)
    assert scripts, "the login page has scripts"
    for tag in scripts:
        if "src=" not in tag:
            assert f'nonce="{nonce}"' in tag, f"inline script without this request's nonce: {tag}"
    assert client.get("/admin/login").headers["content-security-policy"] != csp, "nonce per request"


def test_pages_and_data_are_never_cached_but_assets_are(seeded, admin_client):
    """After logout, Back must not bring the last customer list out of the browser's cache."""
    for url in ("/admin/customer/list", "/admin/customer/detail?pk=1", "/admin/account"):
        response = admin_client.get(url)
        assert response.headers.get("cache-control") == "no-store", url
    lookup = admin_client.get("/admin/_api/customer/relation-lookup?q=a")
    assert lookup.headers.get("cache-control") == "no-store"
    css = admin_client.get("/static/app.css")
    assert css.status_code == 200 and "no-store" not in css.headers.get("cache-control", "")


def test_https_only_redirects_sends_hsts_and_spares_the_probes(settings, tmp_path):
    secure = make_settings(database_url=settings.database_url, data_dir=tmp_path, https_only=True)
    with TestClient(create_app(secure)) as client:
        response = client.get("/admin/login", follow_redirects=False)
        assert response.status_code in (301, 307, 308)
        assert response.headers["location"].startswith("https://")
        assert client.get("/healthz").status_code == 200
    with TestClient(create_app(secure), base_url="https://testserver") as client:
        assert "max-age=" in client.get("/admin/login").headers["strict-transport-security"]


def test_behind_a_trusted_tls_proxy_cookies_are_secure(settings, tmp_path):
    proxied = make_settings(
        database_url=settings.database_url,
        data_dir=tmp_path,
        https_only=True,
        forwarded_allow_ips=["testclient", "127.0.0.1"],
    )
    create_admin(proxied, "p@example.com")
    forwarded = {"x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.9"}
    with TestClient(create_app(proxied)) as client:
        page = client.get("/admin/login", headers=forwarded, follow_redirects=False)
        assert page.status_code == 200, "no redirect loop: the proxy already speaks https"
        csrf = page.cookies["starlette_admin_csrftoken"]
        # The test client speaks plain http, so it would not send Secure cookies back itself.
        response = client.post(
            "/admin/login",
            data={"username": "p@example.com", "password": PASSWORD, "csrftoken": csrf},
            headers={**forwarded, "cookie": f"starlette_admin_csrftoken={csrf}"},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        cookie = next(
            h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)
        )
        assert "secure" in cookie.lower()


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(settings, tmp_path):
    secure = make_settings(database_url=settings.database_url, data_dir=tmp_path, https_only=True)
    with TestClient(create_app(secure)) as client:
        response = client.get(
            "/admin/login", headers={"x-forwarded-proto": "https"}, follow_redirects=False
        )
        assert response.status_code in (301, 307, 308), "a client cannot claim https for itself"


def test_oversized_bodies_get_413(settings, tmp_path):
    small = make_settings(
        database_url=settings.database_url,
        data_dir=tmp_path,
        max_form_size=2048,
        max_request_size=8192,
    )
    with TestClient(create_app(small)) as client:
        form = client.post("/admin/login", data={"username": "x" * 4000, "password": "y"})
        assert form.status_code == 413
        upload = client.post(
            "/admin/product/create",
            files={"image": ("a.png", b"\x89PNG" + b"0" * 9000, "image/png")},
        )
        assert upload.status_code == 413


def test_large_pages_are_compressed(admin_client):
    response = admin_client.get("/admin/product/list", headers={"accept-encoding": "gzip"})
    assert response.headers.get("content-encoding") == "gzip"
    assert "Accept-Encoding" in response.headers["vary"]


def test_clients_without_gzip_get_the_page_as_it_is_and_caches_are_told(admin_client):
    plain = admin_client.get("/admin/product/list", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert "<table" in plain.text and len(plain.content) == int(plain.headers["content-length"])
    assert "Accept-Encoding" in plain.headers["vary"], "a cache must not serve it to gzip"
    small = admin_client.get("/healthz", headers={"accept-encoding": "identity"})
    assert "vary" not in small.headers, "too small to compress, so it does not vary"


def test_fingerprinted_static_files_are_cached_for_a_year(client):
    page = client.get("/admin/login").text
    url = re.search(r'src="(/static/admin\.js\?v=[0-9a-f]+)"', page).group(1)
    response = client.get(url)
    assert response.status_code == 200
    assert "immutable" in response.headers["cache-control"]
    stale = client.get("/static/admin.js?v=000000000000")
    assert stale.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "claimed", ["<script>alert(1)</script>", "x" * 60, "203.0.113.9.evil", "not an address"]
)
def test_a_malformed_forwarded_address_falls_back_to_the_proxy(settings, tmp_path, claimed, caplog):
    proxied = make_settings(
        database_url=settings.database_url, data_dir=tmp_path, forwarded_allow_ips=["testclient"]
    )
    create_admin(proxied, "p@example.com")
    with TestClient(create_app(proxied)) as client:
        csrf = client.get("/admin/login").cookies["starlette_admin_csrftoken"]
        response = client.post(
            "/admin/login",
            data={"username": "p@example.com", "password": PASSWORD, "csrftoken": csrf},
            headers={"x-forwarded-for": claimed},
            follow_redirects=False,
        )
        assert response.status_code == 303, "a correct login succeeds whatever the proxy sent"
    ips = [row[0] for row in fetch(proxied, "SELECT ip FROM admin_session")]
    assert ips == ["testclient"], f"the session keeps the proxy's address, not {ips}"
    assert any("malformed X-Forwarded-For" in r.getMessage() for r in caplog.records)


def test_a_well_formed_forwarded_address_is_the_client(settings, tmp_path):
    proxied = make_settings(
        database_url=settings.database_url, data_dir=tmp_path, forwarded_allow_ips=["testclient"]
    )
    create_admin(proxied, "p@example.com")
    with TestClient(create_app(proxied)) as client:
        csrf = client.get("/admin/login").cookies["starlette_admin_csrftoken"]
        client.post(
            "/admin/login",
            data={"username": "p@example.com", "password": PASSWORD, "csrftoken": csrf},
            headers={"x-forwarded-for": "2001:db8::7, 203.0.113.9"},
        )
    assert [row[0] for row in fetch(proxied, "SELECT ip FROM admin_session")] == ["203.0.113.9"]
