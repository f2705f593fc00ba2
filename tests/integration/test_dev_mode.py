"""./deploy.sh dev: a changed Django view and a changed React component are served without a restart
command (watchfiles restarts the API; Vite serves the new module)."""

import uuid

import pytest
import requests

from tests.integration.test_deploy import deploy, deploy_env  # noqa: F401 (the fixture)
from tests.servers import REPO, wait_until

pytestmark = pytest.mark.integration

URLS = REPO / "backend" / "config" / "urls.py"
COMPONENT = REPO / "frontend" / "src" / "components" / "FormFields.tsx"


def answer(url: str) -> str | None:
    try:
        response = requests.get(url, timeout=5)
    except requests.RequestException:
        return None
    return response.text if response.status_code == 200 else None


def test_dev_serves_a_changed_view_and_component_without_a_restart(deploy_env):  # noqa: F811
    started = deploy(deploy_env, "dev", timeout=600)
    assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
    assert "==> development mode:" in started.stdout
    api = f"http://127.0.0.1:{deploy_env['API_PORT']}"
    frontend = f"http://127.0.0.1:{deploy_env['FRONTEND_PORT']}"
    assert "@vite/client" in requests.get(frontend, timeout=10).text  # Vite's dev server, not the build
    config = requests.get(f"{frontend}/config.json", timeout=10).json()
    assert config["apiBase"] == deploy_env["API_PUBLIC_URL"]

    marker = f"dev-{uuid.uuid4().hex[:12]}"
    urls, component = URLS.read_text(), COMPONENT.read_text()
    try:
        URLS.write_text(
            urls + f"\nfrom django.http import HttpResponse  # noqa: E402\n"
            f'urlpatterns.append(path("dev-probe", lambda request: HttpResponse("{marker}")))\n'
        )
        COMPONENT.write_text(component + f"\n// {marker}\n")
        assert wait_until(lambda: answer(f"{api}/dev-probe") == marker, timeout=90, what="the API to reload")
        assert wait_until(
            lambda: marker in (answer(f"{frontend}/src/components/FormFields.tsx") or ""),
            timeout=30,
            what="Vite to serve the changed component",
        )
    finally:
        URLS.write_text(urls)
        COMPONENT.write_text(component)
    assert wait_until(lambda: answer(f"{api}/dev-probe") is None and answer(f"{api}/health"), timeout=90)
    # Every Python service watched the edit and restarted: each is back and healthy, none needed a command.
    assert wait_until(lambda: deploy(deploy_env, "status").returncode == 0, timeout=90, what="every service healthy")
