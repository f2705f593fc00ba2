"""Benchmark of the whole pipeline on real local servers; prints figures, asserts nothing.

    .venv/bin/python -m tests.benchmarks.pipeline [--single 20] [--burst 200]

- single: one submission at a time; per submission the time from the API's 201 to the email in
  the SMTP catcher, to the CRM lead, and to the final status; and the relay's outbox → Kafka delay.
- burst: N submissions posted by 8 client threads at once; the rate the API accepts them and the
  rate the pipeline finishes them (every email in the catcher, every status COMPLETED).
Flower is not started: its task events roughly halve worker throughput.
"""

import argparse
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import requests

from tests.servers import Stack, wait_until

POLL = 0.005


def post(stack: Stack, email: str) -> dict:
    body = {"name": "Bench", "email": email, "company": "Bench Ltd", "message": "benchmark"}
    response = requests.post(f"{stack.api}/api/submissions/", json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def emails(stack: Stack) -> list[dict]:
    return requests.get(f"{stack.maildev}/api/email", timeout=30).json()


def summary(name: str, values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return (
        f"{name:<34} n={len(values):<4} p50={statistics.median(values) * 1000:7.1f} ms  "
        f"p95={p95 * 1000:7.1f} ms  max={values[-1] * 1000:7.1f} ms"
    )


def single(stack: Stack, count: int) -> None:
    to_email, to_lead, to_final, relay = [], [], [], []
    for _ in range(count + 1):
        email = f"bench-{uuid.uuid4().hex[:10]}@example.org"
        created = post(stack, email)
        t0 = time.monotonic()
        wait_until(lambda: any(m["to"][0]["address"] == email for m in emails(stack)), 30, POLL, "email")
        t_email = time.monotonic() - t0
        crm = f"{stack.crm}/leads/"
        wait_until(
            lambda: requests.get(crm, params={"external_id": created["id"]}, timeout=5).json()["results"],
            30,
            POLL,
            "lead",
        )
        t_lead = time.monotonic() - t0
        state = wait_until(
            lambda: (lambda s: s if s["status"] == "COMPLETED" else None)(
                requests.get(created["status_url"], timeout=5).json()
            ),
            30,
            POLL,
            "final status",
        )
        t_final = time.monotonic() - t0
        published = datetime.fromisoformat(state["published_at"]) - datetime.fromisoformat(state["created_at"])
        if _ == 0:
            continue  # the first one pays for the consumer group join and cold connections
        to_email.append(t_email)
        to_lead.append(t_lead)
        to_final.append(t_final)
        relay.append(published.total_seconds())
    print(summary("201 -> email in the catcher", to_email))
    print(summary("201 -> lead in the CRM", to_lead))
    print(summary("201 -> status COMPLETED (API)", to_final))
    print(summary("outbox row -> Kafka ack (relay)", relay))


def burst(stack: Stack, count: int) -> None:
    tag = uuid.uuid4().hex[:6]
    addresses = [f"burst-{tag}-{n}@example.org" for n in range(count)]
    latencies: list[float] = []

    def timed_post(address: str) -> dict:
        sent = time.monotonic()
        body = post(stack, address)
        latencies.append(time.monotonic() - sent)
        return body

    t0 = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(timed_post, addresses))
    accepted = time.monotonic() - t0
    wanted = set(addresses)
    wait_until(lambda: wanted <= {m["to"][0]["address"] for m in emails(stack)}, 300, 0.1, "every email")
    mailed = time.monotonic() - t0

    def all_done():
        return all(requests.get(c["status_url"], timeout=30).json()["status"] == "COMPLETED" for c in created)

    wait_until(all_done, 300, 0.2, "every status COMPLETED")
    done = time.monotonic() - t0
    print(f"burst of {count}: accepted in {accepted:.2f} s ({count / accepted:.0f}/s over HTTP, 8 clients)")
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    print(f"burst of {count}: ingest latency p50 {statistics.median(ordered) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    print(f"burst of {count}: every email sent after {mailed:.2f} s ({count / mailed:.1f} submissions/s)")
    print(f"burst of {count}: every workflow COMPLETED after {done:.2f} s ({count / done:.1f} submissions/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--single", type=int, default=20)
    parser.add_argument("--burst", type=int, default=200)
    args = parser.parse_args()
    stack = Stack(extra_env={"LOG_LEVEL": "WARNING"})
    t0 = time.monotonic()
    stack.start()
    print(f"stack started in {time.monotonic() - t0:.1f} s (SQLite, 1 worker process with 8 threads)")
    print(f"Apache Kafka broker ready in {stack.kafka_start_seconds[0]:.2f} s (fresh log directory)")
    try:
        single(stack, args.single)
        burst(stack, args.burst)
        rss = stack.rss_mib()
        print("resident memory after the runs (MiB): " + ", ".join(f"{k} {v:.0f}" for k, v in rss.items()))
        print(f"resident memory of the whole stack: {sum(rss.values()):.0f} MiB (kafka: {rss.get('kafka', 0):.0f})")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
