"""The deployment files, parsed and checked against the app: no Docker engine or cluster needed.

Each test guards a mistake that would only show in production: a probe on the wrong
path or port, an environment variable the app never reads, a command the CLI rejects,
an image that differs between the migration and the app, a grace period shorter than
the drain, more database connections than PostgreSQL allows.
"""

from __future__ import annotations

import json
import re
import shlex
from functools import cache
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from admin_app.checks import settings_issues
from admin_app.cli import main
from admin_app.settings import PROJECT_ROOT, Settings

K8S = PROJECT_ROOT / "deploy" / "k8s"
POSTGRES_MAX_CONNECTIONS = 100
RESERVED_CONNECTIONS = 10  # migrations, psql sessions, monitoring


def load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@cache
def manifests() -> dict[tuple[str, str], dict[str, Any]]:
    """Every Kubernetes object in deploy/k8s, by (kind, name)."""
    found = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in load_all(path):
            found[(doc["kind"], doc["metadata"]["name"])] = doc
    return found


def obj(kind: str, name: str = "admin-app") -> dict[str, Any]:
    return manifests()[(kind, name)]


def pod_spec(kind: str, name: str) -> dict[str, Any]:
    return obj(kind, name)["spec"]["template"]["spec"]


def container(kind: str, name: str) -> dict[str, Any]:
    (only,) = pod_spec(kind, name)["containers"]
    return only


def parse_cli(argv: list[str]) -> click.Context:
    """Parse `admin-app ...` arguments with the real CLI, without running anything."""
    assert argv[0] == "admin-app", argv
    command: click.Command = main
    name, args = "admin-app", list(argv[1:])
    while isinstance(command, click.Group):
        name, *args = args
        assert name in command.commands, f"admin-app has no command {name!r}: {argv}"
        command = command.commands[name]
    return command.make_context(name, args)


def is_setting(name: str) -> bool:
    return name.lower() in Settings.model_fields and name == name.upper()


# --- Kubernetes ----------------------------------------------------------------------


def test_the_manifests_hold_every_object_the_issue_asks_for():
    kinds = {kind for kind, _ in manifests()}
    assert {
        "Deployment",
        "Service",
        "Job",
        "Secret",
        "ConfigMap",
        "HorizontalPodAutoscaler",
    } <= kinds
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "migrate-job.yaml"}
    assert listed == on_disk, "kustomization lists every manifest but the one-off Job"


def test_probes_hit_the_health_routes_on_the_served_port():
    web = container("Deployment", "admin-app")
    ports = {p["name"]: p["containerPort"] for p in web["ports"]}
    served = parse_cli(web["command"]).params["port"]
    assert ports == {"http": served}
    for probe, path in [
        ("readinessProbe", "/readyz"),
        ("livenessProbe", "/healthz"),
        ("startupProbe", "/healthz"),
    ]:
        get = web[probe]["httpGet"]
        assert get["path"] == path, probe
        assert ports.get(get["port"], get["port"]) == served, probe


def test_the_app_and_its_migration_run_the_same_image_and_settings():
    web = container("Deployment", "admin-app")
    migrate = container("Job", "admin-app-migrate")
    assert web["image"] == migrate["image"]
    assert web["envFrom"] == migrate["envFrom"]
    assert migrate["command"] == ["admin-app", "db", "upgrade"]
    parse_cli(migrate["command"])
    assert pod_spec("Job", "admin-app-migrate")["restartPolicy"] == "Never"
    refs = {next(iter(ref.values()))["name"] for ref in web["envFrom"]}
    assert refs == {"admin-app-config", "admin-app-secrets"}
    assert ("ConfigMap", "admin-app-config") in manifests()
    assert ("Secret", "admin-app-secrets") in manifests()
    images = yaml.safe_load((K8S / "kustomization.yaml").read_text())["images"]
    assert web["image"].split(":")[0] == images[0]["name"]


def test_every_variable_in_the_manifests_is_a_setting_the_app_reads():
    config = obj("ConfigMap", "admin-app-config")["data"]
    secret = obj("Secret", "admin-app-secrets")["stringData"]
    unknown = [name for name in [*config, *secret] if not is_setting(name)]
    assert not unknown, f"the app reads no such setting: {unknown}"
    assert not set(config) & set(secret), "each setting in one place"
    assert {"DATABASE_URL", "SECRET_KEY"} <= set(secret), "secrets are not in the ConfigMap"


def test_the_example_configuration_is_valid_and_only_its_placeholders_are_unsafe(tmp_path):
    values = {
        **obj("ConfigMap", "admin-app-config")["data"],
        **obj("Secret", "admin-app-secrets")["stringData"],
    }
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in values.items()})  # type: ignore[call-arg]
    issues = [issue.setting for issue in settings_issues(settings)]
    assert issues == ["SECRET_KEY"], "the placeholder key must be replaced; nothing else is unsafe"


def test_the_pods_run_as_the_images_non_root_user_on_a_read_only_filesystem():
    uid = int(dockerfile_instructions("USER")[-1].split(":")[0])
    for kind, name in [("Deployment", "admin-app"), ("Job", "admin-app-migrate")]:
        security = pod_spec(kind, name)["securityContext"]
        assert security["runAsNonRoot"] is True
        assert security["runAsUser"] == uid, f"{kind} and Dockerfile agree on the user"
        context = container(kind, name)["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"]["drop"] == ["ALL"]
        mounts = {m["mountPath"] for m in container(kind, name)["volumeMounts"]}
        assert "/tmp" in mounts, f"{kind}: a writable /tmp (metrics directory, temp files)"
        resources = container(kind, name)["resources"]
        assert resources["requests"] and resources["limits"]["memory"]


def test_shutdown_is_given_longer_than_the_drain():
    config = obj("ConfigMap", "admin-app-config")["data"]
    drain = int(config["GRACEFUL_SHUTDOWN_TIMEOUT"])
    spec = pod_spec("Deployment", "admin-app")
    pre_stop = container("Deployment", "admin-app")["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert spec["terminationGracePeriodSeconds"] > drain + int(pre_stop[1])
    rollout = obj("Deployment")["spec"]["strategy"]["rollingUpdate"]
    assert rollout["maxUnavailable"] == 0


def test_service_pdb_and_autoscaler_point_at_the_deployment():
    labels = obj("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert obj("Deployment")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = obj("Service")
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert obj("PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    target = obj("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "admin-app")
    assert obj("HorizontalPodAutoscaler")["spec"]["minReplicas"] >= 2


def test_drains_keep_pods_serving_and_no_secret_is_written_into_a_pod_spec():
    budget = obj("PodDisruptionBudget")["spec"]
    assert "maxUnavailable" not in budget
    assert 1 <= budget["minAvailable"] < obj("HorizontalPodAutoscaler")["spec"]["minReplicas"], (
        "a drain may evict a pod, but never the last one"
    )
    secret_names = set(obj("Secret", "admin-app-secrets")["stringData"])
    for kind, name in [("Deployment", "admin-app"), ("Job", "admin-app-migrate")]:
        inline = {e["name"] for e in container(kind, name).get("env", []) if "value" in e}
        assert not inline & secret_names, f"{kind} sets secrets inline: {inline & secret_names}"
        assert not {n for n in inline if re.search("PASSWORD|SECRET|TOKEN|_URL", n)}, inline


def test_the_largest_scale_fits_in_postgres_connections():
    workers = parse_cli(container("Deployment", "admin-app")["command"]).params["workers"]
    pool = int(obj("ConfigMap", "admin-app-config")["data"]["DB_POOL_SIZE"])
    replicas = obj("HorizontalPodAutoscaler")["spec"]["maxReplicas"]
    needed = replicas * workers * (pool + 1)  # the pool, one live-updates listener
    assert needed <= POSTGRES_MAX_CONNECTIONS - RESERVED_CONNECTIONS, needed


def test_the_ingress_routes_to_the_service_and_keeps_live_connections_open():
    paths = {}
    for (kind, _name), ingress in manifests().items():
        if kind != "Ingress":
            continue
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend == {"name": "admin-app", "port": {"name": "http"}}
                paths[path["path"]] = ingress["metadata"]["annotations"]
    assert {"/", "/admin/ws", "/admin/events"} <= paths.keys()
    for live in ("/admin/ws", "/admin/events"):
        assert int(paths[live]["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
        assert paths[live]["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    body = paths["/"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert int(body.removesuffix("m")) * 1024 * 1024 >= Settings().max_request_size


# --- Dockerfile ----------------------------------------------------------------------


def dockerfile_instructions(keyword: str) -> list[str]:
    text = (PROJECT_ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [line.split(None, 1)[1] for line in lines if line.upper().startswith(keyword + " ")]


def test_the_dockerfile_is_multi_stage_non_root_and_checks_its_health():
    assert len(dockerfile_instructions("FROM")) >= 2, "multi-stage"
    user = dockerfile_instructions("USER")[-1]
    uid = user.partition(":")[0]
    assert uid.isdigit() and int(uid) > 0, f"numeric non-root USER, got {user!r}"
    (healthcheck,) = dockerfile_instructions("HEALTHCHECK")
    assert "/healthz" in healthcheck
    cmd = json.loads(dockerfile_instructions("CMD")[-1])
    port = parse_cli(cmd).params["port"]
    assert f":{port}/healthz" in healthcheck
    assert dockerfile_instructions("EXPOSE") == [str(port)]


def test_the_image_holds_everything_the_app_reads_at_run_time():
    copied = {line.split()[-2] for line in dockerfile_instructions("COPY") if "--from" not in line}
    needed = {"admin_app", "alembic", "alembic.ini", "templates", "static"}
    assert needed <= copied, f"missing from the image: {needed - copied}"


# --- Compose ---------------------------------------------------------------------------


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())


def test_compose_runs_postgres_an_smtp_sink_the_migration_and_the_app():
    services = compose()["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert "mailpit" in services["mail"]["image"]
    assert services["migrate"]["command"] == ["admin-app", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    app = services["app"]
    parse_cli(app["command"])
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert app["image"] == services["migrate"]["image"]
    port = parse_cli(app["command"]).params["port"]
    assert f"8000:{port}" in app["ports"]
    grace = int(app["stop_grace_period"].removesuffix("s"))
    assert grace > Settings().graceful_shutdown_timeout


def test_compose_settings_are_real_and_point_at_its_own_services():
    services = compose()["services"]
    env = services["app"]["environment"]
    assert env == services["migrate"]["environment"]
    unknown = [name for name in env if not is_setting(name)]
    assert not unknown, f"the app reads no such setting: {unknown}"
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})  # type: ignore[call-arg]
    assert settings.db_url.host == "db"
    db_env = services["db"]["environment"]
    assert settings.db_url.username == db_env["POSTGRES_USER"]
    assert settings.db_url.database == db_env["POSTGRES_DB"]
    assert settings.smtp_host == "mail"
    assert settings.smtp_port == 1025, "Mailpit's SMTP port"


# --- Proxies and docs -------------------------------------------------------------------


def nginx_locations(conf: str) -> dict[str, str]:
    """`location` blocks by their path (one level of braces, as in the example)."""
    return {
        match.group(1): match.group(2)
        for match in re.finditer(r"location\s+=?\s*(\S+)\s*\{([^}]*)\}", conf)
    }


def test_nginx_passes_proxy_headers_upgrades_websockets_and_streams_sse():
    conf = (PROJECT_ROOT / "deploy" / "nginx" / "admin-app.conf").read_text()
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "Host"):
        assert f"proxy_set_header {header}" in conf
    locations = nginx_locations(conf)
    ws = locations["/admin/ws"]
    assert "proxy_set_header Upgrade    $http_upgrade" in ws
    assert "proxy_set_header Connection $connection_upgrade" in ws
    assert "proxy_buffering off" in locations["/admin/events"]
    assert "return 404" in locations["/metrics"]
    size = re.search(r"client_max_body_size (\d+)m;", conf)
    assert size and int(size.group(1)) * 1024 * 1024 >= Settings().max_request_size
    assert "ssl_certificate" in conf


def test_traefik_routes_with_tls_a_body_limit_and_a_readiness_check():
    config = yaml.safe_load((PROJECT_ROOT / "deploy" / "traefik" / "admin-app.yml").read_text())
    http = config["http"]
    router = http["routers"]["admin-app"]
    assert router["tls"]["certResolver"]
    assert router["service"] in http["services"]
    for middleware in router["middlewares"]:
        assert middleware in http["middlewares"]
    limit = http["middlewares"]["admin-app-body-limit"]["buffering"]["maxRequestBodyBytes"]
    assert limit >= Settings().max_request_size
    assert http["services"]["admin-app"]["loadBalancer"]["healthCheck"]["path"] == "/readyz"
    assert "/metrics" in http["routers"]["admin-app-metrics"]["rule"]
    live = http["routers"]["admin-app-live"]
    assert "/admin/ws" in live["rule"] and "/admin/events" in live["rule"]
    assert "middlewares" not in live, "no buffering in front of the event stream"
    assert live["service"] == "admin-app" and live["priority"] > 0


@pytest.mark.parametrize(
    ("fence", "path"),
    [
        ("nginx", "deploy/nginx/admin-app.conf"),
        ("yaml", "deploy/traefik/admin-app.yml"),
        ("ini", "deploy/pgbouncer/pgbouncer.ini"),
    ],
)
def test_the_guide_shows_the_proxy_files_exactly(fence, path):
    guide = (PROJECT_ROOT / "docs" / "deploy.md").read_text()
    blocks = re.findall(rf"```{fence}\n(.*?)```", guide, re.DOTALL)
    assert (PROJECT_ROOT / path).read_text() in blocks, f"docs/deploy.md is out of date with {path}"


def test_the_guide_names_only_commands_the_cli_accepts():
    guide = (PROJECT_ROOT / "docs" / "deploy.md").read_text()
    commands = re.findall(r"^\s*(admin-app [^#`\n]*)", guide, re.MULTILINE)
    commands += re.findall(r"`(admin-app [^`]*)`", guide)
    assert len(commands) >= 5
    for command in commands:
        parse_cli(shlex.split(command.strip()))
