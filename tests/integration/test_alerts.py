"""The local Prometheus of `./deploy.sh start` scrapes every process and evaluates the alert rules:
with the bridge stopped under load, the consumer-lag alert goes pending, then firing."""

from pathlib import Path

import pytest
import requests

from tests.integration.test_deploy import deploy, deploy_env, submit_to  # noqa: F401 (the fixture)
from tests.servers import wait_until

pytestmark = pytest.mark.integration

LAG_ALERT = "BridgeConsumerLagGrowing"


def query(prometheus: str, expression: str) -> list:
    return requests.get(f"{prometheus}/api/v1/query", params={"query": expression}, timeout=5).json()["data"]["result"]


def alert_states(prometheus: str, name: str) -> set[str]:
    alerts = requests.get(f"{prometheus}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    return {alert["state"] for alert in alerts if alert["labels"].get("alertname") == name}


def test_the_local_prometheus_fires_the_lag_alert_when_the_bridge_stops_under_load(deploy_env):  # noqa: F811
    env = {**deploy_env, "PROMETHEUS_SCRAPE_INTERVAL": "2s", "SUBMISSION_RATE_LIMIT": "1000/minute"}
    started = deploy(env, "start")
    assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
    prometheus = f"http://127.0.0.1:{env['PROMETHEUS_PORT']}"
    assert f"Prometheus        http://localhost:{env['PROMETHEUS_PORT']}" in started.stdout

    def every_job_up():
        results = requests.get(f"{prometheus}/api/v1/query", params={"query": "up"}, timeout=5).json()["data"]["result"]
        jobs = {r["metric"]["job"]: r["value"][1] for r in results}
        wanted = {"api", "relay", "bridge", "mailer", "workflow-agent", "reconciler", "prometheus"}
        return wanted <= set(jobs) and all(jobs[job] == "1" for job in wanted)

    assert wait_until(every_job_up, timeout=60, what="Prometheus to scrape every process")
    assert alert_states(prometheus, LAG_ALERT) == set()  # quiet while the bridge keeps up

    api = f"http://127.0.0.1:{env['API_PORT']}"
    assert deploy(env, "stop-service", "bridge").returncode == 0
    for n in range(20):  # the load goes on while the bridge is down: 20 events wait in Kafka
        submit_to(api, f"alert-{n}@example.org")
    try:
        seen = wait_until(
            lambda: alert_states(prometheus, LAG_ALERT) & {"pending", "firing"},
            timeout=120,
            interval=1,
            what=f"{LAG_ALERT} pending or firing",
        )
        wait_until(lambda: "firing" in alert_states(prometheus, LAG_ALERT), timeout=120, interval=1, what="firing")
    except TimeoutError:
        print("lag as Prometheus has it:", query(prometheus, "intake_consumer_group_lag"))
        print("reconciler's log:", (Path(env["RUN_DIR"]) / "logs" / "reconciler.log").read_text()[-3000:])
        raise
    alerts = requests.get(f"{prometheus}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    print(f"{LAG_ALERT}: {sorted(seen)}, then firing; alerts: {sorted({a['labels']['alertname'] for a in alerts})}")
