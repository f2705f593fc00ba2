"""docker-compose.yml, read as data: what is published, where settings come from, which SMTP catcher
runs, the operator pages (Kafka UI, Prometheus, Grafana) and their files, and what scaling a worker
needs. No Docker engine runs on this machine, so these checks, and test_compose_spec.py's validation
against the Compose Specification, stand in for `docker compose config` and a start. Values are the
file's own text, before Compose interpolates."""

import json
import re

import pytest
import yaml

from tests.servers import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
BACKEND = sorted(
    name for name, svc in SERVICES.items() if svc.get("build", {}).get("dockerfile") == "deploy/Dockerfile.backend"
)
# Reached only inside the network: the browser gets to the API and the stream through nginx.
INTERNAL_ONLY = ("kafka", "redis", "postgres", "crm", "api", "stream")
# Operator pages: on the host's loopback only (Prometheus has no login of its own; the others do).
OPERATOR_PAGES = {
    "flower": "127.0.0.1:${FLOWER_PORT:-5555}:5555",
    "smtp": "127.0.0.1:${MAILDEV_WEB_PORT:-1080}:1080",
    "kafka-ui": "127.0.0.1:${KAFKA_UI_PORT:-8080}:8080",
    "prometheus": "127.0.0.1:${PROMETHEUS_PORT:-9090}:9090",
    "grafana": "127.0.0.1:${GRAFANA_PORT:-3001}:3000",
}
# Services `docker compose up --scale NAME=N` may run several of.
SCALABLE = ("api", "stream", "mailer", "workflow-agent", "relay", "bridge", "reconciler")
PROMETHEUS_CONFIG = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
GRAFANA = REPO / "deploy" / "grafana"
DASHBOARD = json.loads((GRAFANA / "dashboards" / "intake.json").read_text())
# What each process serves on /metrics, as the dashboard assumes it (name: labels). The metrics code
# must use these names; a histogram's series are NAME_bucket (with le), NAME_sum and NAME_count.
ASSUMED_METRICS = {
    "intake_submissions_total": {"outcome"},
    "django_http_requests_latency_seconds_by_view_method": {"view", "method"},
    "intake_outbox_backlog": set(),
    "intake_relay_lag_seconds": set(),
    "intake_bridge_lag": {"partition"},
    "intake_bridge_records_total": {"outcome"},
    "celery_tasks_total": {"task", "outcome"},
    "celery_task_duration_seconds": {"task"},
    "intake_emails_total": {"outcome"},
    "intake_workflows_total": {"outcome"},
    "intake_dead_letters_total": set(),
    "intake_reconciler_actions_total": {"kind"},
}
HISTOGRAMS = {
    "django_http_requests_latency_seconds_by_view_method",
    "intake_relay_lag_seconds",
    "celery_task_duration_seconds",
}
# Where each process serves /metrics inside its container (the API on its own port).
METRICS_PORTS = {
    "api": ("METRICS_PORT_API", "9100"),  # gunicorn's master: the workers' sum (config/gunicorn.py)
    "relay": ("METRICS_PORT_RELAY", "9101"),
    "bridge": ("METRICS_PORT_BRIDGE", "9102"),
    "mailer": ("METRICS_PORT_MAILER", "9103"),
    "workflow-agent": ("METRICS_PORT_WORKFLOW_AGENT", "9104"),
    "reconciler": ("METRICS_PORT_RECONCILER", "9105"),
}
SECRETS = {
    "DJANGO_SECRET_KEY": BACKEND,
    "CRM_API_TOKEN": BACKEND,
    "REDIS_PASSWORD": ["redis"],
    "FLOWER_BASIC_AUTH": ["flower"],
    "MAILDEV_WEB_USER": ["smtp"],
    "MAILDEV_WEB_PASS": ["smtp"],
}
PUBLIC_URL = "${PUBLIC_URL:-http://localhost:3000}"


def published(service: str) -> list[str]:
    return [str(port) for port in SERVICES[service].get("ports", [])]


def environment(service: str) -> dict[str, str]:
    return {name: str(value) for name, value in SERVICES[service].get("environment", {}).items()}


def test_every_service_of_our_image_is_found():
    expected = {
        "migrate",
        "api",
        "stream",
        "crm",
        "mailer",
        "workflow-agent",
        "relay",
        "reconciler",
        "bridge",
        "flower",
    }
    assert set(BACKEND) == expected


def test_only_the_frontend_is_published_beyond_loopback_on_a_configurable_address():
    assert published("frontend") == ["${PUBLIC_BIND_ADDRESS:-127.0.0.1}:${FRONTEND_PORT:-3000}:3000"]
    others = {name: published(name) for name in SERVICES if name != "frontend"}
    assert {name: ports for name, ports in others.items() if ports} == {
        name: [port] for name, port in OPERATOR_PAGES.items()
    }


@pytest.mark.parametrize("service", INTERNAL_ONLY)
def test_backing_services_and_the_apps_behind_nginx_publish_nothing(service):
    assert "ports" not in SERVICES[service]


def test_kafka_listens_and_advertises_inside_the_network_only():
    env = environment("kafka")
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "INTERNAL://kafka:29092"
    assert env["KAFKA_LISTENERS"] == "INTERNAL://:29092,CONTROLLER://:9093"


@pytest.mark.parametrize("service", BACKEND)
def test_env_reaches_every_container_of_our_image_and_a_missing_one_breaks_nothing(service):
    assert SERVICES[service]["env_file"] == [{"path": "${ENV_FILE:-.env}", "required": False}]


@pytest.mark.parametrize("service", BACKEND)
def test_in_network_addresses_win_over_the_loopback_ones_of_local_mode(service):
    # .env (through env_file) holds local mode's 127.0.0.1 addresses; environment: wins over it.
    env = environment(service)
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:29092"
    # The in-network broker asks for no sign-in: local mode's password in .env must not turn SASL on.
    assert env["KAFKA_SASL_PASSWORD"] == ""
    assert env["CELERY_BROKER_URL"].startswith("redis://:${REDIS_PASSWORD:?")
    assert (
        env["CELERY_BROKER_URL"].endswith("}@redis:6379/0")
        and env["REDIS_URL"] == "redis://:${REDIS_PASSWORD}@redis:6379/0"
    )
    assert env["SMTP_HOST"] == "smtp" and env["SMTP_PORT"] == "1025"
    assert env["CRM_API_BASE"] == "http://crm:8001/crm/api"
    assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]


def test_third_party_processes_get_the_settings_they_use_and_not_the_secrets_of_env():
    for service in set(SERVICES) - set(BACKEND):
        assert "env_file" not in SERVICES[service], service
    assert environment("frontend") == {
        "API_PUBLIC_URL": PUBLIC_URL,
        "STREAM_PUBLIC_URL": PUBLIC_URL,
        "DEMO_CONTROLS": "${DEMO_CONTROLS:-false}",
        "TRUSTED_PROXIES": "${TRUSTED_PROXIES:-0}",
    }
    assert set(environment("smtp")) == {"MAILDEV_WEB_USER", "MAILDEV_WEB_PASS", "SMTP_CATCHER_RETENTION_HOURS"}


@pytest.mark.parametrize("service", [name for name in SERVICES if name != "migrate"])
def test_every_long_running_service_has_a_healthcheck(service):
    assert SERVICES[service]["healthcheck"]["test"]


def test_the_stream_runs_the_same_launcher_as_in_local_mode():
    """config/stream_server.py: no proxy headers, subscribed to Redis as it starts, a log line per request."""
    command = SERVICES["stream"]["command"]
    assert command[:3] == ["python", "-m", "config.stream_server"], command
    assert command[command.index("--host") + 1 :] == ["0.0.0.0", "--port", "5001"]


def test_migrate_is_a_one_shot_that_the_others_wait_for():
    assert SERVICES["migrate"]["restart"] == "no"
    assert SERVICES["api"]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


@pytest.mark.parametrize(("name", "services"), SECRETS.items())
def test_secrets_have_no_default_and_stop_compose_when_missing(name, services):
    for service in services:
        assert environment(service)[name].startswith(f"${{{name}:?"), service


def test_flower_asks_for_a_password_and_never_opens_its_api():
    assert "FLOWER_BASIC_AUTH" in environment("flower")
    assert "FLOWER_UNAUTHENTICATED_API" not in (REPO / "docker-compose.yml").read_text()


@pytest.mark.parametrize("service", BACKEND)
def test_hosts_origins_and_switches_come_from_env_with_safe_defaults(service):
    env = environment(service)
    assert env["DJANGO_ALLOWED_HOSTS"] == "${DJANGO_ALLOWED_HOSTS:-localhost,127.0.0.1,[::1]},api,stream,crm"
    assert env["DEMO_CONTROLS"] == "${DEMO_CONTROLS:-false}"
    assert env["PRODUCTION"] == "${PRODUCTION:-false}"
    assert env["PUBLIC_URL"] == PUBLIC_URL
    assert env["CORS_ORIGINS"] == PUBLIC_URL
    assert env["CSRF_TRUSTED_ORIGINS"] == "${CSRF_TRUSTED_ORIGINS:-" + PUBLIC_URL + "}"


def test_only_the_services_behind_nginx_count_it_as_a_proxy_and_nginx_learns_the_operators():
    hops = {name: environment(name).get("BUNDLED_PROXY_HOPS") for name in BACKEND}
    assert {name: value for name, value in hops.items() if value} == {"api": "1", "stream": "1"}
    assert not any(environment(name).get("TRUSTED_PROXIES") for name in BACKEND)  # .env's, as in local mode
    assert environment("frontend")["TRUSTED_PROXIES"] == "${TRUSTED_PROXIES:-0}"


def test_our_image_runs_as_its_non_root_user_without_capabilities():
    dockerfile = (REPO / "deploy" / "Dockerfile.backend").read_text()
    assert re.findall(r"^USER (\S+)", dockerfile, re.M)[-1] == "app"
    for service in BACKEND:
        assert "user" not in SERVICES[service]
        assert SERVICES[service]["cap_drop"] == ["ALL"]


def test_the_smtp_catcher_is_built_from_local_mode_s_lock_as_a_non_root_user():
    assert SERVICES["smtp"]["build"]["dockerfile"] == "deploy/Dockerfile.smtp"
    assert "image" not in SERVICES["smtp"] or not SERVICES["smtp"]["image"].startswith("maildev/")
    dockerfile = (REPO / "deploy" / "Dockerfile.smtp").read_text()
    assert "COPY deploy/smtp/package.json deploy/smtp/package-lock.json ./" in dockerfile
    assert re.search(r"^RUN npm ci --omit=dev\b", dockerfile, re.M)
    assert re.findall(r"^USER (\S+)", dockerfile, re.M)[-1] == "node"
    command = json.loads(re.search(r"^CMD (.+)$", dockerfile, re.M).group(1))
    assert command[:2] == ["node", "catcher.mjs"]  # maildev, closed to other origins
    assert "COPY deploy/smtp/catcher.mjs ./" in dockerfile
    assert command[command.index("--smtp") + 1] == "1025" and command[command.index("--web") + 1] == "1080"


def test_local_mode_and_compose_run_maildev_3_from_one_lock():
    package = json.loads((REPO / "deploy" / "smtp" / "package.json").read_text())
    lock = json.loads((REPO / "deploy" / "smtp" / "package-lock.json").read_text())
    assert package["dependencies"]["maildev"].split(".")[0] == "3"
    assert lock["packages"]["node_modules/maildev"]["version"] == package["dependencies"]["maildev"]


def test_the_catcher_s_command_line_flags_are_maildev_s():
    options = REPO / "deploy" / "smtp" / "node_modules" / "maildev" / "dist" / "options.js"
    if not options.is_file():
        pytest.skip("the npm SMTP catcher is not installed (./deploy.sh build installs it)")
    known = set(re.findall(r"--[a-z-]+", options.read_text()))
    command = json.loads(re.search(r"^CMD (.+)$", (REPO / "deploy" / "Dockerfile.smtp").read_text(), re.M).group(1))
    assert {arg for arg in command if arg.startswith("--")} <= known


def image_tag(service: str) -> tuple[str, str]:
    name, _, tag = SERVICES[service]["image"].rpartition(":")
    return name, tag


@pytest.mark.parametrize("service", [name for name in SERVICES if "build" not in SERVICES[name]])
def test_every_image_we_pull_is_pinned_to_a_version(service):
    name, tag = image_tag(service)
    assert name and re.match(r"^v?\d+(\.\d+)*(-[a-z0-9]+)?$", tag), SERVICES[service]["image"]


def test_kafka_ui_is_pinned_and_on_loopback_behind_its_login_form():
    name, tag = image_tag("kafka-ui")
    assert name == "kafbat/kafka-ui" and re.fullmatch(r"v1\.\d+\.\d+", tag)
    assert published("kafka-ui") == ["127.0.0.1:${KAFKA_UI_PORT:-8080}:8080"]
    env = environment("kafka-ui")
    assert env["AUTH_TYPE"] == "LOGIN_FORM"
    assert env["SPRING_SECURITY_USER_NAME"].startswith("${KAFKA_UI_USER:?")
    assert env["SPRING_SECURITY_USER_PASSWORD"].startswith("${KAFKA_UI_PASSWORD:?")


def test_kafka_ui_browses_the_pipeline_s_cluster_read_only():
    env = environment("kafka-ui")
    advertised = environment("kafka")["KAFKA_ADVERTISED_LISTENERS"].split("://", 1)[1]
    assert env["KAFKA_CLUSTERS_0_NAME"] == "intake"
    assert env["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"] == advertised
    # Deleting a topic or resetting the bridge's offsets from a browser would break the guarantees.
    assert env["KAFKA_CLUSTERS_0_READONLY"] == "true"
    assert env["DYNAMIC_CONFIG_ENABLED"] == "false"
    assert SERVICES["kafka-ui"]["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    assert SERVICES["kafka-ui"]["healthcheck"]["test"][-1] == "http://127.0.0.1:8080/actuator/health"


@pytest.mark.parametrize("service", BACKEND)
def test_our_processes_listen_on_the_container_network_for_prometheus(service):
    env = environment(service)
    # .env's BIND_HOST=127.0.0.1 (local mode) would make /metrics unreachable from Prometheus.
    assert env["BIND_HOST"] == "0.0.0.0"
    for name, port in METRICS_PORTS.values():
        if name != "METRICS_PORT_API":
            assert env[name] == port, name


def scrape_jobs() -> dict[str, dict]:
    return {job["job_name"]: job for job in PROMETHEUS_CONFIG["scrape_configs"]}


@pytest.mark.parametrize("service", sorted(METRICS_PORTS))
def test_prometheus_scrapes_every_replica_of_each_process_on_its_metrics_port(service):
    job = scrape_jobs()[service]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    # One A record per container of the service: a scaled service is scraped replica by replica.
    (discovery,) = job["dns_sd_configs"]
    assert discovery["names"] == [service] and discovery["type"] == "A"
    name, port = METRICS_PORTS[service]
    assert str(discovery["port"]) == port == environment(service)[name]
    assert service in SERVICES and not published(service)


def test_prometheus_scrapes_nothing_that_compose_does_not_run():
    jobs = scrape_jobs()
    assert set(jobs) == set(METRICS_PORTS) | {"prometheus"}
    assert jobs["prometheus"]["static_configs"] == [{"targets": ["localhost:9090"]}]


def test_nginx_does_not_pass_metrics_to_the_public():
    template = (REPO / "deploy" / "nginx.conf.template").read_text()
    locations = re.findall(r"^\s*location\s+([^{]+)\{", template, re.M)
    assert locations and not [location for location in locations if "metrics" in location]
    assert re.search(r"location / \{\s*try_files \$uri /index\.html;", template)


def mounts(service: str) -> dict[str, str]:
    """Container path: host source, of the service's bind mounts and volumes."""
    return {volume.split(":")[1]: volume for volume in SERVICES[service]["volumes"]}


def test_prometheus_is_pinned_on_loopback_with_its_config_and_no_write_endpoints():
    name, tag = image_tag("prometheus")
    assert name == "prom/prometheus" and re.fullmatch(r"v3\.\d+\.\d+", tag)
    assert published("prometheus") == ["127.0.0.1:${PROMETHEUS_PORT:-9090}:9090"]
    command = SERVICES["prometheus"]["command"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in command
    assert mounts("prometheus")["/etc/prometheus/prometheus.yml"] == (
        "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro"
    )
    assert mounts("prometheus")["/prometheus"] == "prometheus-data:/prometheus"
    # No login of its own: no admin API (delete series), no reload or shutdown by HTTP, no other origin.
    assert not [flag for flag in command if flag.startswith(("--web.enable-admin-api", "--web.enable-lifecycle"))]
    (cors,) = [flag for flag in command if flag.startswith("--web.cors.origin=")]
    assert ".*" not in cors and "127" in cors and "localhost" in cors


def test_grafana_is_pinned_on_loopback_behind_its_admin_login_without_anonymous_access():
    name, tag = image_tag("grafana")
    assert name == "grafana/grafana" and re.fullmatch(r"\d+\.\d+\.\d+", tag)
    assert published("grafana") == ["127.0.0.1:${GRAFANA_PORT:-3001}:3000"]
    env = environment("grafana")
    assert env["GF_SECURITY_ADMIN_USER"].startswith("${GRAFANA_ADMIN_USER:?")
    assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false" and env["GF_USERS_ALLOW_SIGN_UP"] == "false"


def test_grafana_is_provisioned_from_the_repository():
    assert (
        mounts("grafana")["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro"
    )
    assert mounts("grafana")["/etc/grafana/dashboards"] == "./deploy/grafana/dashboards:/etc/grafana/dashboards:ro"
    (provider,) = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "intake.yml").read_text())["providers"]
    assert provider["type"] == "file" and provider["options"]["path"] == "/etc/grafana/dashboards"
    assert provider["allowUiUpdates"] is False and provider["disableDeletion"] is True
    home = environment("grafana")["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == "/etc/grafana/dashboards/intake.json"


def test_grafana_s_data_source_is_the_prometheus_service():
    (source,) = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert source["type"] == "prometheus" and source["access"] == "proxy"
    # The service's name and its port inside the network (not the host's PROMETHEUS_PORT).
    assert source["url"] == "http://prometheus:9090" and published("prometheus")[0].endswith(":9090")
    for panel in DASHBOARD["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": source["uid"]}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == source["uid"], panel["title"]


def queried_metrics(expr: str) -> set[str]:
    names = set(re.findall(r"\b((?:intake|django|celery)_[a-z0-9_]+)\b", expr))
    return {re.sub(r"_bucket$", "", name) if re.sub(r"_bucket$", "", name) in HISTOGRAMS else name for name in names}


def test_the_dashboard_queries_exactly_the_metrics_the_processes_are_to_serve():
    exprs = [target["expr"] for panel in DASHBOARD["panels"] for target in panel["targets"]]
    queried = set().union(*(queried_metrics(expr) for expr in exprs))
    assert queried == set(ASSUMED_METRICS)
    for expr in exprs:
        for metric in queried_metrics(expr):
            if metric in HISTOGRAMS:
                assert f"{metric}_bucket" in expr and "histogram_quantile(" in expr, expr
        labels = set().union(*(ASSUMED_METRICS[metric] for metric in queried_metrics(expr)), {"le", "job"})
        used = {label.strip() for group in re.findall(r"by \(([^)]*)\)", expr) for label in group.split(",")}
        used |= set(re.findall(r"\{(\w+)=", expr))
        assert used <= labels, (expr, used - labels)


def test_the_dashboard_has_a_panel_for_each_thing_operators_watch():
    titles = {panel["title"] for panel in DASHBOARD["panels"]}
    assert {
        "Submissions accepted / rejected",
        "API request latency p50 / p99",
        "Outbox backlog",
        "Relay lag p50 / p99",
        "Bridge lag per partition",
        "Celery tasks by name and outcome",
        "Celery task duration p99",
        "Emails sent / retrying / failed",
        "Workflows completed / compensated / compensation failed",
        "Dead letters",
        "Reconciler actions by kind",
    } <= titles
    ids = [panel["id"] for panel in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids)) and DASHBOARD["uid"] == "intake"


def test_dashboard_panels_do_not_overlap():
    cells = set()
    for panel in DASHBOARD["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        area = {
            (x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & area, panel["title"]
        cells |= area


def test_no_service_pins_a_container_name_or_a_hostname_so_any_can_be_scaled():
    for name, svc in SERVICES.items():
        assert "container_name" not in svc and "hostname" not in svc, name


@pytest.mark.parametrize("service", SCALABLE)
def test_a_scalable_service_publishes_no_port_and_names_each_replica_after_its_container(service):
    assert not published(service)
    command = " ".join(SERVICES[service].get("command", []))
    if " worker " in command:  # Celery: NAME@%h, %h being the container's own hostname
        assert f"-n {service}@%h" in command
        assert "deploy/health.py" in SERVICES[service]["healthcheck"]["test"]


def test_each_bridge_replica_is_its_own_static_member_of_the_group():
    # Empty: bridge-<hostname>; one id from .env on two replicas would make them fence each other.
    assert environment("bridge")["KAFKA_GROUP_INSTANCE_ID"] == ""


def test_the_frontend_s_nginx_never_runs_as_root():
    dockerfile = (REPO / "deploy" / "Dockerfile.frontend").read_text()
    final_stage = re.findall(r"^FROM (\S+)", dockerfile, re.M)[-1]
    assert final_stage.startswith("nginxinc/nginx-unprivileged:")
    assert re.findall(r"^USER (\S+)", dockerfile, re.M)[-1] == "101"
    assert re.search(r"^\s*listen 3000;", (REPO / "deploy" / "nginx.conf.template").read_text(), re.M)
