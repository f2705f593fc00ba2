"""The benchmark behind `./deploy.sh bench`: drives a running stack from this separate process.

deploy.sh starts the stack as users run it (supervisord, Flower on, DEBUG off, the rate limit lifted,
the synchronous baseline endpoint on) on its own ports and data directory, then runs

    python -m tests.benchmarks.bench --out DIR [--smoke]

with the stack's settings in the environment. This process posts over HTTP on loopback (aiohttp,
open loop: a request's latency counts from the moment it was due, so a slow server cannot hide
behind a slow client), samples the backlog every second from the database, Redis and Kafka, and
reads each submission's timestamps from the database once it is final. It prints a table, writes
the raw figures to DIR/bench.json and draws DIR/bench.png (latency and backlog over time).
"""

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

import django  # noqa: E402

django.setup()

from django.db import connections  # noqa: E402

from config.settings.base import database_config  # noqa: E402

# The mock CRM's own database, read to count its leads. The CRM is another system (no pipeline app
# imports it), so its one table is read with SQL.
connections.settings["crm"] = connections.configure_settings(
    {"default": database_config(os.environ.get("CRM_DATABASE_URL", ""), REPO / "data" / "crm.sqlite3")}
)["default"]

import redis  # noqa: E402
from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import close_old_connections  # noqa: E402

from common.kafka import client_config  # noqa: E402
from intake.models import Submission, TimelineEntry  # noqa: E402
from mailer.models import EmailDelivery  # noqa: E402
from outbox.models import OutboxEvent  # noqa: E402
from tests.servers import wait_until  # noqa: E402
from workflow.models import SagaRun, SagaStep  # noqa: E402

FINAL_RUNS = SagaRun.FINAL_STATUSES
FINAL_MAIL = EmailDelivery.FINAL_STATUSES
CONNECTIONS = 64  # the load generator's connection pool: a browser population behind one proxy


# --- figures ------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:,.0f}"


@dataclass
class Sample:
    at: float
    accepted: int
    finished: int
    outbox_unsent: int
    queued: int
    bridge_lag: int | None


@dataclass
class Run:
    """Everything measured, kept for bench.json and the chart."""

    started: float = field(default_factory=time.time)
    requests: list[dict] = field(default_factory=list)  # phase, sent_at, latency, status
    samples: list[Sample] = field(default_factory=list)
    phases: dict[str, dict] = field(default_factory=dict)


# --- the stack's processes ---------------------------------------------------------------------------


# The mailer's one process in the benchmark's stack (supervisord names a scalable service's processes
# mailer-0, mailer-1, ...; ./deploy.sh scale).
MAILER_PROCESS = "app:mailer-0"


def ctl(*args: str, check: bool = True) -> str:
    """supervisorctl of the running stack (deploy/supervisord.conf with this environment's RUN_DIR)."""
    supervisorctl = sys.executable.replace("python", "supervisorctl")
    conf = REPO / "deploy" / "supervisord.conf"
    return subprocess.run([supervisorctl, "-c", str(conf), *args], check=check, capture_output=True, text=True).stdout


def supervised_pids() -> dict[str, int]:
    pids = {}
    for line in ctl("status", check=False).splitlines():
        cells = line.split()
        name = cells[0].split(":")[-1] if cells else ""
        # The local Prometheus watches the pipeline; its cost is not the pipeline's.
        if len(cells) >= 4 and cells[1] == "RUNNING" and cells[2] == "pid" and name != "prometheus":
            pids[name] = int(cells[3].rstrip(","))
    return pids


def process_table() -> tuple[dict[int, list[int]], dict[int, tuple[float, int]]]:
    """Children by parent, and (CPU seconds, RSS KiB) by pid, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, tuple[float, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
            rss_kib = int((entry / "statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        ppid, utime, stime = int(fields[1]), int(fields[11]), int(fields[12])
        children.setdefault(ppid, []).append(int(entry.name))
        stats[int(entry.name)] = ((utime + stime) / tick, rss_kib)
    return children, stats


def usage() -> dict[str, dict[str, float]]:
    """CPU seconds and RSS MiB of each supervised service, its child processes included."""
    children, stats = process_table()

    def tree(pid: int) -> list[int]:
        return [pid, *(p for child in children.get(pid, []) for p in tree(child))]

    result = {}
    pids_by_name = supervised_pids()
    for entry in filter(None, os.environ.get("BENCH_EXTRA_PIDS", "").split(",")):  # e.g. the PostgreSQL server
        name, _, pid = entry.partition("=")
        pids_by_name[name] = int(pid)
    for name, pid in pids_by_name.items():
        pids = tree(pid)
        result[name] = {
            "cpu_s": sum(stats.get(p, (0, 0))[0] for p in pids),
            "rss_mib": sum(stats.get(p, (0, 0))[1] for p in pids) / 1024,
        }
    return result


def box_cpu_s() -> float:
    """CPU seconds the whole machine spent since boot (every process: the stack, this load generator,
    anything else running), from /proc/stat: all but idle and iowait."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot() -> dict:
    """Per supervised process (children included), this load generator's own, and the whole box's."""
    own = os.times()
    return {"processes": usage(), "generator": own.user + own.system, "box": box_cpu_s()}


# --- the backlog sampler -----------------------------------------------------------------------------


class Sampler:
    """Once a second: accepted, finished, unsent outbox rows, queued Celery tasks, the bridge's lag."""

    def __init__(self, run: Run):
        self.run = run
        self.stop = threading.Event()
        self.redis = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        self.kafka = Consumer(
            client_config(
                settings.KAFKA_BOOTSTRAP_SERVERS,
                settings.KAFKA_AUTH,
                **{"group.id": "bridge", "enable.auto.commit": False},
            )
        )
        self.thread = threading.Thread(target=self.loop, name="sampler", daemon=True)

    def bridge_lag(self) -> int | None:
        try:
            metadata = self.kafka.list_topics(settings.KAFKA_TOPIC, timeout=2)
            parts = [TopicPartition(settings.KAFKA_TOPIC, p) for p in metadata.topics[settings.KAFKA_TOPIC].partitions]
            committed = self.kafka.committed(parts, timeout=2)
            lag = 0
            for tp in committed:
                _, high = self.kafka.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=2)
                lag += high - max(tp.offset, 0)
            return lag
        except Exception:  # a sample that cannot be taken is left out, not guessed
            return None

    def take(self) -> Sample:
        close_old_connections()
        return Sample(
            at=time.time(),
            accepted=accepted_count(),
            finished=finished_count(),
            outbox_unsent=OutboxEvent.objects.filter(published_at__isnull=True).count(),
            queued=sum(self.redis.llen(queue) for queue in settings.CELERY_QUEUES_WATCHED),
            bridge_lag=self.bridge_lag(),
        )

    def loop(self) -> None:
        while not self.stop.wait(1.0):
            try:
                self.run.samples.append(self.take())
            except Exception as exc:
                print(f"  (sample skipped: {exc})", file=sys.stderr)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.kafka.close()


def finished_count(ids: list[str] | None = None) -> int:
    done = Submission.objects.filter(email_delivery__status__in=FINAL_MAIL, saga_run__status__in=FINAL_RUNS)
    if ids is not None:
        done = done.filter(id__in=ids)
    return done.count()


def accepted_count() -> int:
    """Submissions accepted by the pipeline's endpoint (the baseline's carry no event)."""
    return TimelineEntry.objects.filter(event_type="ContactFormSubmitted").count()


def unfinished_total() -> int:
    return accepted_count() - finished_count()


def wait_drained(timeout: float, what: str) -> float:
    """Seconds until every accepted submission is final (mail and workflow)."""
    t0 = time.monotonic()
    wait_until(lambda: close_old_connections() or unfinished_total() == 0, timeout, 0.25, f"{what} to drain")
    return time.monotonic() - t0


# --- load ----------------------------------------------------------------------------------------


# Each accepted submission's access token (the live viewers need it, as a visitor's browser does).
TOKENS: dict[str, str] = {}


def maildev_auth() -> tuple[str, str] | None:
    """The SMTP catcher's basic-auth credentials, as deploy.sh generated them for this run."""
    user, password = os.environ.get("MAILDEV_WEB_USER", ""), os.environ.get("MAILDEV_WEB_PASS", "")
    return (user, password) if user and password else None


def body(tag: str, n: int) -> dict:
    return {
        "name": f"Bench {n}",
        "email": f"bench-{tag}-{n}@example.org",
        "company": "Bench Ltd",
        "message": "A benchmark submission.",
    }


async def post_load(
    run: Run, phase: str, url: str, *, rate: float | None, count: int, connections: int = CONNECTIONS
) -> list[dict]:
    """POST `count` submissions at `rate` per second, or all at once (`rate` None); each with its latency.

    At a rate the load is open loop: request i is due at start + i/rate and its latency counts from
    then, so time spent waiting for a free connection is the server's, as a visitor would see it. All
    at once, `connections` requests are in flight at a time and each one's latency counts from when it
    is sent: the server's answer time under that concurrency, not the client's own queue.
    """
    tag = uuid.uuid4().hex[:8]
    results: list[dict] = []
    connector = aiohttp.TCPConnector(limit=connections, keepalive_timeout=30)
    timeout = aiohttp.ClientTimeout(total=120)
    in_flight = asyncio.Semaphore(connections)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.monotonic()

        async def send(n: int, began: float) -> None:
            payload_in = body(tag, n)
            record = {"phase": phase, "sent_at": time.time() - (time.monotonic() - began), "email": payload_in["email"]}
            try:
                async with session.post(url, json=payload_in) as response:
                    payload = await response.json(content_type=None)
                    record["status"] = response.status
                    record["id"] = payload.get("id") if isinstance(payload, dict) else None
                    if record["id"] and payload.get("access_token"):  # the baseline endpoint has none
                        TOKENS[record["id"]] = payload["access_token"]
            except (aiohttp.ClientError, TimeoutError) as exc:
                record["status"], record["error"] = 0, f"{type(exc).__name__}: {exc}"
            record["latency"] = time.monotonic() - began
            record["done_at"] = time.time()
            results.append(record)

        async def one(n: int) -> None:
            if rate is None:
                async with in_flight:
                    await send(n, time.monotonic())
                return
            due = start + n / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)  # the load's pace (open loop), not a wait for a condition
            await send(n, due)

        await asyncio.gather(*(one(n) for n in range(count)))
    run.requests.extend(results)
    return results


def ingest_figures(results: list[dict]) -> dict:
    ok = [r["latency"] for r in results if r["status"] == 201]
    errors = [r for r in results if r["status"] != 201]
    span = max(r["done_at"] for r in results) - min(r["sent_at"] for r in results) if results else 0
    return {
        "requests": len(results),
        "accepted": len(ok),
        "failed": len(errors),
        "errors": sorted({r.get("error") or f"HTTP {r['status']}" for r in errors})[:5],
        "p50": pct(ok, 50),
        "p99": pct(ok, 99),
        "max": max(ok) if ok else None,
        "throughput": len(ok) / span if span else None,
        "span_s": span,  # from the first request sent to the last answer
    }


def pipeline_figures(results: list[dict]) -> dict:
    """201 → email sent, → CRM lead, → both final, per submission, from the database's timestamps."""
    answered = {r["id"]: r["done_at"] for r in results if r["status"] == 201 and r.get("id")}
    mail = dict(
        EmailDelivery.objects.filter(submission_id__in=answered, status="SENT").values_list("submission_id", "sent_at")
    )
    lead = dict(
        SagaStep.objects.filter(run__submission_id__in=answered, name="create_crm_lead").values_list(
            "run__submission_id", "done_at"
        )
    )
    final = dict(SagaRun.objects.filter(submission_id__in=answered).values_list("submission_id", "finished_at"))
    to_mail, to_lead, to_final = [], [], []
    for key, at in answered.items():
        sid = uuid.UUID(key)
        if sid in mail:
            to_mail.append(mail[sid].timestamp() - at)
        if sid in lead:
            to_lead.append(lead[sid].timestamp() - at)
        if sid in mail and final.get(sid):
            to_final.append(max(mail[sid], final[sid]).timestamp() - at)
    return {
        name: {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95), "p99": pct(values, 99)}
        for name, values in (("mail", to_mail), ("lead", to_lead), ("final", to_final))
    }


def crm_leads_per_submission(ids: list[str]) -> dict[str, int]:
    """How many leads the CRM holds for each of these submissions (those it has any for)."""
    wanted = set(ids)
    with connections["crm"].cursor() as cursor:
        cursor.execute("SELECT external_id, COUNT(*) FROM crm_crmlead GROUP BY external_id")
        return {external_id: n for external_id, n in cursor.fetchall() if external_id in wanted}


def integrity(results: list[dict], maildev: str) -> dict:
    """Lost: accepted (201) but not final, or missing. Duplicates: a second email or lead for one submission."""
    import requests

    ids = [r["id"] for r in results if r["status"] == 201 and r.get("id")]
    finished = sum(finished_count(ids[i : i + 500]) for i in range(0, len(ids), 500))
    emails = requests.get(f"{maildev}/api/email", auth=maildev_auth(), timeout=120).json()
    per_recipient: dict[str, int] = {}
    for message in emails:
        for to in message.get("to", []):
            per_recipient[to["address"]] = per_recipient.get(to["address"], 0) + 1
    wanted = {r["email"] for r in results if r["status"] == 201}
    dup_emails = sum(count - 1 for count in per_recipient.values() if count > 1)
    leads = crm_leads_per_submission(ids)
    dup_leads = sum(n - 1 for n in leads.values() if n > 1)
    requests.delete(
        f"{maildev}/api/email/all", auth=maildev_auth(), timeout=60
    )  # the catcher keeps every message in memory
    return {
        "accepted": len(ids),
        "final": finished,
        "lost": len(ids) - finished,
        "emails": sum(per_recipient.values()),
        "duplicate_emails": dup_emails,
        "leads": len(leads),
        "duplicate_leads": dup_leads,
        "missing_emails": len(wanted - set(per_recipient)),
    }


# --- live viewers ----------------------------------------------------------------------------------


async def viewers(stream_base: str, ids: list[str], ready: asyncio.Event, finals: list[float]) -> int:
    """Hold one server-sent-event stream open per id; note when each receives a final state."""
    connector = aiohttp.TCPConnector(limit=0)
    opened = 0
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as session:

        async def watch(sid: str) -> None:
            nonlocal opened
            url = f"{stream_base}/api/submissions/{sid}/events?access_token={TOKENS[sid]}"
            try:
                async with session.get(url, headers={"Accept": "text/event-stream"}) as response:
                    opened += 1
                    if opened == len(ids):
                        ready.set()
                    async for line in response.content:
                        if line.startswith(b"data:") and b'"status":"COMPLETED"' in line.replace(b" ", b""):
                            finals.append(time.time())
                            return
            except (TimeoutError, aiohttp.ClientError):
                return

        await asyncio.gather(*(watch(sid) for sid in ids))
    return opened


# --- phases ----------------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.smoke = args.smoke
        self.api = os.environ.get("BENCH_API", f"http://127.0.0.1:{os.environ.get('API_PORT', '5000')}")
        self.stream = os.environ.get("BENCH_STREAM", f"http://127.0.0.1:{os.environ.get('STREAM_PORT', '5001')}")
        self.maildev = f"http://127.0.0.1:{os.environ.get('MAILDEV_WEB_PORT', '1080')}"
        self.run = Run()
        self.submit = f"{self.api}/api/submissions/"
        self.baseline = f"{self.api}/api/baseline/submissions/"

    def size(self, full: float, smoke: float) -> float:
        return smoke if self.smoke else full

    def phase(self, name: str, figures: dict) -> dict:
        self.run.phases[name] = figures
        return figures

    def rate_phase(self, name: str, url: str, rate: float, seconds: float, *, drain: bool = True) -> dict:
        count = max(1, int(rate * seconds))
        cpu0 = cpu_snapshot()
        results = asyncio.run(post_load(self.run, name, url, rate=rate, count=count))
        figures = {"rate": rate, "seconds": seconds, "ingest": ingest_figures(results)}
        if drain and url == self.submit:
            t0 = time.time() - figures["seconds"]
            figures["drained_after_s"] = wait_drained(self.size(900, 120), name)
            figures["lag"] = self.lag_since(t0)
        if drain or url == self.baseline:  # the baseline's work is done when its answers are back
            figures["cpu_ms_per_submission"] = cpu_per(cpu0, cpu_snapshot(), figures["ingest"]["accepted"])
        print_ingest(name, figures)
        return self.phase(name, figures), results

    def burst_phase(self, name: str, url: str, count: int) -> tuple[dict, list[dict]]:
        cpu0 = cpu_snapshot()
        t0 = time.monotonic()
        results = asyncio.run(post_load(self.run, name, url, rate=None, count=count))
        figures = {"count": count, "connections": CONNECTIONS, "ingest": ingest_figures(results)}
        if url == self.submit:
            wait_until(
                lambda: (
                    close_old_connections() or EmailDelivery.objects.filter(status="SENT").count() >= accepted_count()
                ),
                self.size(1800, 120),
                0.25,
                f"{name}: every email",
            )
            mailed = time.monotonic() - t0
            wait_drained(self.size(1800, 120), name)
            figures["all_mail_after_s"] = mailed
            figures["all_final_after_s"] = time.monotonic() - t0
            figures["lag"] = self.lag_since(time.time() - figures["all_final_after_s"])
        figures["cpu_ms_per_submission"] = cpu_per(cpu0, cpu_snapshot(), figures["ingest"]["accepted"])
        print_ingest(name, figures)
        return self.phase(name, figures), results

    def lag_since(self, since: float) -> dict:
        """The relay's and the bridge's largest lag seen since `since` (unsent outbox rows, Kafka records)."""
        window = [sample for sample in self.run.samples if sample.at >= since]
        return {
            "relay_max_unsent": max((s.outbox_unsent for s in window), default=None),
            "bridge_max_lag": max((s.bridge_lag for s in window if s.bridge_lag is not None), default=None),
        }

    def sustained(self, first_guess: float) -> dict:
        """The highest rate whose backlog does not grow over 60 s: a few steps around a first guess."""
        seconds = self.size(60, 4)
        tried = {}
        rate = max(5.0, round(first_guess))
        for _ in range(self.size(3, 1)):
            t_start = time.time()
            results = asyncio.run(
                post_load(self.run, f"sustained {rate:.0f}/s", self.submit, rate=rate, count=int(rate * seconds))
            )
            window = [s for s in self.run.samples if s.at >= t_start + seconds / 3]
            backlog = [s.accepted - s.finished for s in window]
            growing = bool(backlog) and backlog[-1] > max(rate * 2, backlog[0] + rate)  # more than 2 s of work behind
            tried[rate] = {
                "ingest": ingest_figures(results),
                "backlog_start": backlog[:1],
                "backlog_end": backlog[-1:],
                "held": not growing,
            }
            wait_drained(self.size(900, 120), "sustained")
            rate = round(rate * (1.2 if not growing else 0.8))
            if rate in tried:
                break
        held = [r for r, f in tried.items() if f["held"]]
        figures = {"tried": tried, "sustained_rate": max(held) if held else None, "seconds": seconds}
        print(
            f"{'sustained (60 s, no growing backlog)':<38} highest held: {figures['sustained_rate']}/s  tried: "
            + ", ".join(f"{r:.0f}/s {'held' if f['held'] else 'fell behind'}" for r, f in tried.items())
        )
        return self.phase("sustained", figures)

    def viewers_phase(self) -> dict:
        """N live viewers on N submissions held in flight (mailer stopped) while 100/s are posted."""
        n = int(self.size(1000, 20))
        ctl("stop", MAILER_PROCESS)
        try:
            held = asyncio.run(post_load(self.run, "viewers: held", self.submit, rate=200, count=n))
            ids = [r["id"] for r in held if r["status"] == 201]

            async def scenario():
                ready = asyncio.Event()
                finals: list[float] = []
                watching = asyncio.create_task(viewers(self.stream, ids, ready, finals))
                try:
                    await asyncio.wait_for(ready.wait(), 60)
                except TimeoutError:
                    pass
                results = await post_load(
                    self.run, "100/s with viewers", self.submit, rate=100, count=int(self.size(2000, 20))
                )
                await asyncio.to_thread(ctl, "start", MAILER_PROCESS)
                released = time.time()
                opened = await asyncio.wait_for(watching, 600)
                return results, opened, finals, released

            results, opened, finals, released = asyncio.run(scenario())
        finally:
            ctl("start", MAILER_PROCESS, check=False)  # started already unless the scenario failed
        wait_drained(self.size(900, 120), "viewers")
        figures = {
            "viewers": n,
            "opened": opened,
            "ingest": ingest_figures(results),
            "viewers_told_final": len(finals),
            "last_viewer_told_after_mailer_start_s": (max(finals) - released) if finals else None,
        }
        print_ingest(f"100/s with {opened} live viewers", figures)
        print(
            f"{'  viewers told COMPLETED':<38} {len(finals)} of {n}, the last {figures['last_viewer_told_after_mailer_start_s'] or 0:.1f} s after the mailer restarted"
        )
        return self.phase("viewers", figures)

    def go(self) -> None:
        sampler = Sampler(self.run)
        sampler.thread.start()
        try:
            self.steps()
        finally:
            sampler.close()

    def steps(self) -> None:
        # Warm, as a stack that has been running is: a fresh one spends its first minute importing
        # lazily, compiling (the broker's JIT) and filling caches, which no user's steady state pays.
        asyncio.run(post_load(self.run, "warm-up", self.submit, rate=20, count=int(self.size(600, 5))))
        wait_drained(self.size(600, 120), "warm-up")
        print(f"{'phase':<38} {'ingest p50':>10} {'p99':>8} {'max':>8} {'failed':>7}  after")
        if self.args.compare:
            self.compare()
            return
        _, results20 = self.rate_phase("20/s", self.submit, 20, self.size(30, 2))
        self.run.phases["20/s"]["pipeline"] = pipeline = pipeline_figures(results20)
        for name in ("mail", "lead", "final"):
            p = pipeline[name]
            print(
                f"{'  201 -> ' + name:<38} p50 {ms(p['p50'])} ms  p95 {ms(p['p95'])} ms  p99 {ms(p['p99'])} ms  (n={p['n']})"
            )
        self.rate_phase("100/s", self.submit, 100, self.size(30, 1))
        self.rate_phase("500/s", self.submit, 500, self.size(10, 0.2))
        self.burst_phase("burst 1000", self.submit, int(self.size(1000, 30)))
        if not self.args.no_viewers:
            self.viewers_phase()
        burst = self.run.phases["burst 1000"]
        self.sustained(self.args.sustained_guess or 0.9 * burst["count"] / burst["all_final_after_s"])
        figures, results = self.burst_phase("burst 10000", self.submit, int(self.size(10000, 100)))
        figures["integrity"] = integrity(results, self.maildev)
        figures["rss_after_mib"] = {name: round(u["rss_mib"]) for name, u in usage().items()}
        i = figures["integrity"]
        print(
            f"{'  burst 10000 integrity':<38} accepted {i['accepted']}, final {i['final']}, lost {i['lost']}, "
            f"duplicate emails {i['duplicate_emails']}, duplicate leads {i['duplicate_leads']}"
        )
        print(
            f"{'  burst 10000':<38} every mail after {figures['all_mail_after_s']:.1f} s, every workflow final after "
            f"{figures['all_final_after_s']:.1f} s ({figures['count'] / figures['all_final_after_s']:.1f}/s)"
        )
        for name, url_rate in (("baseline 20/s", 20), ("baseline 100/s", 100), ("baseline 500/s", 500)):
            self.rate_phase(name, self.baseline, url_rate, self.size({20: 30, 100: 30, 500: 10}[url_rate], 0.5))
        self.burst_phase("baseline burst 1000", self.baseline, int(self.size(1000, 30)))
        self.print_comparison(["20/s", "100/s", "500/s", "burst 1000"])
        self.report_processes()

    def compare(self) -> None:
        """The same loads on the pipeline and on the synchronous baseline, one after the other, then
        side by side: ingest latency, CPU per submission, and when the last one was done."""
        loads = (("20/s", 20, self.size(30, 2)), ("100/s", 100, self.size(30, 1)), ("burst 1000", None, 0))
        for name, rate, seconds in loads:
            if rate is None:
                self.burst_phase(name, self.submit, int(self.size(1000, 30)))
                self.burst_phase(f"baseline {name}", self.baseline, int(self.size(1000, 30)))
            else:
                self.rate_phase(name, self.submit, rate, seconds)
                self.rate_phase(f"baseline {name}", self.baseline, rate, seconds)
        self.print_comparison([name for name, _, _ in loads])

    def print_comparison(self, names: list[str]) -> None:
        phases = self.run.phases
        print(f"\n{'load':<12} {'ingest p50 / p99 (ms)':^37} {'whole-box CPU ms/sub':^21} {'all done after (s)':^21}")
        print(
            f"{'':<12} {'pipeline':>18} {'baseline':>18} {'pipeline':>10} {'baseline':>10} {'pipeline':>10} {'baseline':>10}"
        )
        for name in names:
            ours, base = phases.get(name), phases.get(f"baseline {name}")
            if not ours or not base:
                continue
            latency = [f"{ms(p['ingest']['p50'])} / {ms(p['ingest']['p99'])}" for p in (ours, base)]
            cpu = [f"{p['cpu_ms_per_submission']['whole box']:.0f}" for p in (ours, base)]
            done = [
                ours.get("all_final_after_s") or (ours["seconds"] + ours["drained_after_s"]),
                base["ingest"]["span_s"],
            ]
            print(
                f"{name:<12} {latency[0]:>18} {latency[1]:>18} {cpu[0]:>10} {cpu[1]:>10} {done[0]:>10.1f} {done[1]:>10.1f}"
            )
        self.run.phases["comparison"] = {"loads": names}

    def report_processes(self) -> None:
        rss = self.run.phases["burst 10000"]["rss_after_mib"]
        total = sum(rss.values())
        cpu = self.run.phases["burst 10000"].get("cpu_ms_per_submission", {})
        print(f"\n{'process':<16} {'RSS MiB':>8} {'CPU ms/submission (10k burst)':>32}")
        for name in sorted(rss, key=lambda n: -rss[n]):
            print(f"{name:<16} {rss[name]:>8} {cpu.get(name, 0):>32.1f}")
        print(f"{'whole stack':<16} {total:>8} {cpu.get('total', 0):>32.1f}")
        print(f"{'load generator':<16} {'':>8} {cpu.get('load generator', 0):>32.1f}")
        print(f"{'whole box':<16} {'':>8} {cpu.get('whole box', 0):>32.1f}")
        self.run.phases["processes"] = {"rss_mib": rss, "rss_total_mib": total}


def cpu_per(before: dict, after: dict, submissions: int) -> dict:
    """CPU ms per submission between two snapshots: each process, `total` (the stack: every supervised
    process), `load generator` (this process) and `whole box` (everything on the machine)."""
    n = max(1, submissions)
    old, new = before["processes"], after["processes"]
    per = {name: (new[name]["cpu_s"] - old.get(name, {"cpu_s": 0})["cpu_s"]) * 1000 / n for name in new}
    per["total"] = sum(per.values())
    per["load generator"] = (after["generator"] - before["generator"]) * 1000 / n
    per["whole box"] = (after["box"] - before["box"]) * 1000 / n
    return per


def print_ingest(name: str, figures: dict) -> None:
    ingest = figures["ingest"]
    parts = []
    if "drained_after_s" in figures:
        parts.append(f"drained {figures['drained_after_s']:.1f} s after the last request")
    if "count" in figures:  # a burst
        parts.append(f"accepted in {ingest['span_s']:.1f} s")
    if "all_final_after_s" in figures:
        parts.append(f"all mail {figures['all_mail_after_s']:.1f} s, all final {figures['all_final_after_s']:.1f} s")
    if "cpu_ms_per_submission" in figures:
        cpu = figures["cpu_ms_per_submission"]
        parts.append(f"CPU ms/submission: whole box {cpu['whole box']:.0f}, stack {cpu['total']:.0f}")
    if "lag" in figures:
        parts.append(f"lag max: relay {figures['lag']['relay_max_unsent']}, bridge {figures['lag']['bridge_max_lag']}")
    print(
        f"{name:<38} {ms(ingest['p50']):>10} {ms(ingest['p99']):>8} {ms(ingest['max']):>8} {ingest['failed']:>7}  "
        + "; ".join(parts)
    )
    if ingest["errors"]:
        print(f"{'':<38} errors: {'; '.join(ingest['errors'])}")


def chart(run: Run, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 7), sharex=True)
    phases = sorted(
        {r["phase"] for r in run.requests}, key=lambda p: min(r["sent_at"] for r in run.requests if r["phase"] == p)
    )
    for phase in phases:
        rows = [r for r in run.requests if r["phase"] == phase and r["status"] == 201]
        if rows:
            top.scatter(
                [r["sent_at"] - run.started for r in rows], [r["latency"] * 1000 for r in rows], s=2, label=phase
            )
    top.set_yscale("log")
    top.set_ylabel("ingest latency (ms)")
    top.legend(markerscale=4, fontsize=7, ncol=4)
    top.grid(alpha=0.3)
    t = [s.at - run.started for s in run.samples]
    bottom.plot(t, [s.accepted - s.finished for s in run.samples], label="submissions not final")
    bottom.plot(t, [s.queued for s in run.samples], label="Celery tasks queued")
    bottom.plot(t, [s.outbox_unsent for s in run.samples], label="outbox rows unsent (relay lag)")
    bottom.plot(t, [s.bridge_lag or 0 for s in run.samples], label="bridge lag (records)")
    bottom.set_ylabel("backlog")
    bottom.set_xlabel("seconds since the start of the run")
    bottom.legend(fontsize=7)
    bottom.grid(alpha=0.3)
    fig.suptitle(
        f"./deploy.sh bench on {platform.node()} ({os.cpu_count()} cores), {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "bench-results")
    parser.add_argument("--smoke", action="store_true", help="tiny loads: that it works, not its numbers")
    parser.add_argument("--no-viewers", action="store_true", help="skip the live-viewer phase")
    parser.add_argument("--sustained-guess", type=float, default=None, help="first rate of the sustained search")
    parser.add_argument(
        "--compare", action="store_true", help="only 20/s, 100/s and a 1,000 burst, on the pipeline and the baseline"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    random.seed(1)
    bench = Bench(args)
    t0 = time.monotonic()
    bench.go()
    run = bench.run
    raw = {
        "machine": {"host": platform.node(), "cores": os.cpu_count(), "python": platform.python_version()},
        "database": settings.DATABASES["default"]["ENGINE"],
        "smoke": args.smoke,
        "duration_s": time.monotonic() - t0,
        "phases": run.phases,
        "samples": [s.__dict__ for s in run.samples],
        "requests": run.requests,
    }
    (args.out / "bench.json").write_text(json.dumps(raw, indent=1, default=str))
    chart(run, args.out / "bench.png")
    print(f"\nraw figures: {args.out / 'bench.json'}\nchart: {args.out / 'bench.png'}  ({raw['duration_s']:.0f} s)")


if __name__ == "__main__":
    main()
