"""Purge reaches every store (finding 9 of "Safe by default, round two"): the mock CRM forgets old
leads by itself (it was left to a cron line nothing installed), and the topic and its dead letters
keep a record for the retention plus at most a day (Kafka's defaults kept them up to 14 days)."""

import pytest
import requests
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from tests.servers import Stack, wait_until

pytestmark = pytest.mark.integration


def test_the_crm_server_purges_its_old_leads_by_itself():
    crm = Stack(extra_env={"DATA_RETENTION_DAYS": "2", "PURGE_INTERVAL": "1"})
    try:
        crm.manage("migrate", "--noinput", "--settings", "config.settings.crm_server")
        crm.start_crm()
        leads, headers = f"{crm.crm}/leads/", {"Authorization": f"Bearer {crm.env['CRM_API_TOKEN']}"}
        for external_id in ("old-lead", "new-lead"):
            body = {"external_id": external_id, "name": "Lee", "email": f"{external_id}@example.org"}
            assert requests.post(leads, json=body, headers=headers, timeout=10).status_code == 201
        crm.manage(
            "shell",
            "--settings",
            "config.settings.crm_server",
            "-c",
            "from datetime import timedelta; from django.utils import timezone; from crm.models import CrmLead; "
            "CrmLead.objects.filter(external_id='old-lead').update(created_at=timezone.now() - timedelta(days=3))",
        )

        def kept():
            return sorted(
                lead["external_id"] for lead in requests.get(leads, headers=headers, timeout=10).json()["results"]
            )

        assert wait_until(lambda: kept() == ["new-lead"], timeout=30, what="the CRM's own purge")
        # The purge commits its delete before it logs it, so a reader can see the lead gone first.
        assert wait_until(
            lambda: "CRM retention: 1 lead(s) created before" in crm.procs.log("crm"),
            timeout=10,
            what="the purge's log line",
        )
    finally:
        crm.stop()


def test_the_topic_and_its_dead_letters_keep_records_for_the_retention_only(stack):
    admin = KafkaAdminClient(**stack.kafka.kafka_python())
    try:
        resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in (stack.topic, f"{stack.topic}.dlq")]
        described = admin.describe_configs(resources)
    finally:
        admin.close()
    topics = next(iter(described.values()))
    for topic in (stack.topic, f"{stack.topic}.dlq"):
        assert str(topics[topic]["retention.ms"]["value"]) == str(168 * 3_600_000), topic
        assert str(topics[topic]["segment.ms"]["value"]) == str(24 * 3_600_000), topic
