"""The test OpenID Connect provider (`provider/server.mjs`, the npm package oidc-provider on
Node), started as a child process, and a person signing in through its real pages."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2

from tests.servers import free_port, poll

PROVIDER_DIR = Path(__file__).parent / "provider"
APP_CLIENT = {"client_id": "admin-app", "client_secret": "app-client-secret-for-tests"}
OTHER_CLIENT = {"client_id": "other-app", "client_secret": "other-client-secret-for-tests"}
TEST_CALLBACK = "http://testserver/admin/sso/callback"
"""Where the provider sends people back to an app served by Starlette's TestClient."""
PASSWORD = "provider password"


def _node() -> str:
    node = shutil.which("node")
    modules = PROVIDER_DIR / "node_modules" / "oidc-provider"
    if node is None or not modules.is_dir():
        raise AssertionError(
            "tests/sso needs Node 20+ and the provider's packages: run `make sso-provider` "
            "(apt-get install nodejs npm first if `node` is missing)"
        )
    return node


@dataclass
class Provider:
    """A running provider: its issuer URL and its accounts file, rewritten by `accounts`."""

    issuer: str
    accounts_file: Path
    process: subprocess.Popen[bytes]
    log_file: Path

    def accounts(self, **people: dict[str, Any]) -> None:
        """Replace the provider's accounts: `sub={"email", "groups", "amr", ...}`, each
        with the password `PASSWORD`; read at the next sign-in."""
        data = {sub: {"password": PASSWORD, **claims} for sub, claims in people.items()}
        self.accounts_file.write_text(json.dumps(data))

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def start_provider(workdir: Path, redirect_uris: list[str], **env: str) -> Provider:
    """Start `server.mjs` on a free port; return once its discovery document answers."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    accounts_file, log_file = workdir / "accounts.json", workdir / "provider.log"
    accounts_file.write_text("{}")
    clients = [{**c, "redirect_uris": redirect_uris} for c in (APP_CLIENT, OTHER_CLIENT)]
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [_node(), str(PROVIDER_DIR / "server.mjs"), str(port)],
            env={
                "PATH": os.environ["PATH"],
                "OIDC_CLIENTS": json.dumps(clients),
                "OIDC_ACCOUNTS": str(accounts_file),
                **env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    provider = Provider(f"http://127.0.0.1:{port}", accounts_file, process, log_file)
    discovery = f"{provider.issuer}/.well-known/openid-configuration"

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError("the test provider exited:\n" + provider.log())
        return httpx2.get(discovery, timeout=2).status_code == 200

    poll(up, within=30, what="the test OpenID Connect provider answering")
    return provider


_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


@dataclass
class Browser:
    """The provider's side of one browser: its cookies (a provider session) persist."""

    provider: Provider
    http: httpx2.Client = field(default_factory=lambda: httpx2.Client(timeout=10))

    def authorize(self, url: str, login: str, password: str = PASSWORD) -> str:
        """Follow `url` (the app's redirect to the provider) through the provider's login
        and consent pages, as a person would; return the URL it sends the browser back to."""
        response = self.http.get(url)
        for _ in range(12):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if not location.startswith(self.provider.issuer):
                    return location
                response = self.http.get(location)
                continue
            page = response.text
            match = _ACTION.search(page)
            assert match, f"the provider showed no form ({response.status_code}):\n{page}"
            form = {"login": login, "password": password} if 'name="login"' in page else {}
            response = self.http.post(self.provider.issuer + match.group(1), data=form)
        raise AssertionError("the provider never sent the browser back")


def query(url: str) -> dict[str, str]:
    """The query parameters of `url`, one value each."""
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
