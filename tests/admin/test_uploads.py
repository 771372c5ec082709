"""Product images: only real images are stored, and stored files cannot script the admin."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from tests.helpers import csrf_token, fetch, login


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def create_with_image(client, filename: str, content: bytes, content_type: str):
    form = {"name": "Pictured", "sku": "PIC-1", "price": "1.00", "stock": "1", "attributes": "{}"}
    return client.post(
        "/admin/product/create",
        data={**form, "csrftoken": csrf_token(client)},
        files={"image": (filename, content, content_type)},
        follow_redirects=False,
    )


def test_a_real_image_is_stored_and_served_safely(admin_client, settings):
    response = create_with_image(admin_client, "photo.png", png_bytes(), "image/png")
    assert response.status_code == 303, response.text[:300]
    name = fetch(settings, "SELECT image FROM product WHERE sku = 'PIC-1'")[0][0]
    assert re.fullmatch(r"products/[0-9a-f]{32}\.png", name), name
    served = admin_client.get(f"/admin/media/{name}")
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]
    assert served.content == png_bytes() or served.content.startswith(b"\x89PNG")


def test_html_and_svg_are_refused_whatever_they_are_called(admin_client, settings):
    attacks = [
        ("evil.html", b"<html><script>alert(1)</script></html>", "text/html"),
        (
            "evil.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/svg+xml",
        ),
        ("evil.png", b"<html><script>alert(1)</script></html>", "image/png"),
    ]
    for filename, content, content_type in attacks:
        response = create_with_image(admin_client, filename, content, content_type)
        assert response.status_code == 422, (filename, response.status_code)
        assert "image" in response.text.lower()
    assert fetch(settings, "SELECT count(*) FROM product WHERE sku = 'PIC-1'")[0][0] == 0


def test_media_needs_a_login_and_cannot_escape_its_folder(admin_client, client, settings):
    create_with_image(admin_client, "photo.png", png_bytes(), "image/png")
    name = fetch(settings, "SELECT image FROM product WHERE sku = 'PIC-1'")[0][0]
    assert admin_client.get("/admin/media/../../data/secret_key").status_code == 404
    assert admin_client.get("/admin/media/%2e%2e/secret_key").status_code == 404
    admin_client.cookies.clear()
    anonymous = admin_client.get(f"/admin/media/{name}", follow_redirects=False)
    assert anonymous.status_code == 303 and "/admin/login" in anonymous.headers["location"]


def test_an_image_over_the_size_limit_is_refused_at_the_field(settings, tmp_path):
    from starlette.testclient import TestClient

    from admin_app.main import create_app
    from tests.conftest import make_settings
    from tests.helpers import create_admin, login

    small = make_settings(
        database_url=settings.database_url, data_dir=tmp_path, max_image_size=2048
    )
    create_admin(small, "img@example.com")
    big = png_bytes() + b"\0" * 4096
    with TestClient(create_app(small)) as client:
        login(client, "img@example.com")
        response = create_with_image(client, "big.png", big, "image/png")
        assert response.status_code == 422 and "larger than" in response.text


@pytest.mark.parametrize("name", ["a" * 5000, "x/" * 3000 + "a.png", "a%00b.png", "../x.png"])
def test_media_names_no_file_could_have_are_404s(admin_client, name):
    """A name longer than the file system allows made the lookup raise: a 500."""
    assert admin_client.get(f"/admin/media/{name}").status_code == 404


def test_media_are_served_only_to_who_may_open_the_record_holding_them(admin_client, settings):
    from starlette.testclient import TestClient

    from admin_app.main import create_app
    from tests.helpers import create_admin, give_role, make_role

    assert create_with_image(admin_client, "a.png", png_bytes(), "image/png").status_code == 303
    name = fetch(settings, "SELECT image FROM product WHERE sku = 'PIC-1'")[0][0]
    make_role(settings, "Customers only", ["customer:view"])
    make_role(settings, "Products", ["product:view"])
    for email, role in (("c@example.com", "Customers only"), ("p@example.com", "Products")):
        create_admin(settings, email, superuser=False)
        give_role(settings, email, role)
    with TestClient(create_app(settings)) as other:
        assert login(other, "c@example.com").status_code == 303
        assert other.get(f"/admin/media/{name}").status_code == 404, "no product:view, no image"
        other.cookies.clear()
        assert login(other, "p@example.com").status_code == 303
        assert other.get(f"/admin/media/{name}").status_code == 200
    fetch(settings, "UPDATE product SET image = NULL WHERE sku = 'PIC-1'")
    assert admin_client.get(f"/admin/media/{name}").status_code == 404, "a file no record holds"
