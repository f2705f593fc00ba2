"""The event console: staff-only admin pages that read Kafka live, and replay dead letters."""

import uuid
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from console import kafka, services
from console.forms import DeadLetterRef, DeadLettersQuery, KeySearchQuery, RecordsQuery
from console.kafka import ConsoleError
from console.selectors import outbox_backlog, submission_exists
from events.topics import dlq_topic


def console_view(view: Callable) -> Callable:
    """Staff only, inside the admin: the admin's login for anonymous users, 403 for other users."""
    protected = admin.site.admin_view(view)  # staff check, login redirect, CSRF, never cached

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated and not request.user.is_staff:
            raise PermissionDenied
        return protected(request, *args, **kwargs)

    return guarded


def _attempt(read: Callable, *args, **kwargs) -> tuple[object | None, str]:
    """(what `read` returns, "") or (None, why Kafka could not give it)."""
    try:
        return read(*args, **kwargs), ""
    except ConsoleError as exc:
        return None, str(exc)


def _render(request: HttpRequest, template: str, title: str, **context) -> HttpResponse:
    return render(
        request,
        f"console/{template}",
        {
            **admin.site.each_context(request),
            "title": title,
            "bootstrap_servers": settings.KAFKA_BOOTSTRAP_SERVERS,
            "pipeline_topic": settings.KAFKA_TOPIC,
            "dlq_topic": dlq_topic(settings.KAFKA_TOPIC),
            **context,
        },
    )


def _form_error(form) -> str:
    return "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """The brokers, the topics with their watermarks and replicas, and the outbox backlog."""
    topics, error = _attempt(kafka.topics_with_offsets)
    brokers, _ = _attempt(kafka.brokers) if not error else ([], error)
    return _render(
        request,
        "overview.html",
        "Event console",
        topics=topics,
        brokers=brokers,
        error=error,
        backlog=outbox_backlog(),
        unpublished_url=reverse("admin:outbox_outboxevent_changelist") + "?published_at__isempty=1",
    )


@require_GET
def groups(request: HttpRequest) -> HttpResponse:
    """Each consumer group: state, members, committed offsets and lag."""
    page, error = _attempt(kafka.consumer_groups)
    return _render(request, "groups.html", "Consumer groups", page=page, error=error)


@require_GET
def records(request: HttpRequest) -> HttpResponse:
    """The latest N records of a topic (or one partition), newest first."""
    form = RecordsQuery(request.GET)
    if not form.is_valid():
        return _render(request, "records.html", "Latest records", form=form, error=_form_error(form))
    query = form.cleaned_data
    topic = query["topic"] or settings.KAFKA_TOPIC
    limit = query["limit"] or kafka.DEFAULT_RECORDS
    page, error = _attempt(kafka.latest_records, topic, partition=query["partition"], limit=limit)
    context = {"topic": topic, "partition": query["partition"], "limit": limit}
    return _render(request, "records.html", "Latest records", form=form, page=page, error=error, **context)


def _submission_url(key: str) -> tuple[str, bool]:
    """The admin page of the submission this key names, and whether the database has it."""
    try:
        submission_id = str(uuid.UUID(key))
    except ValueError:
        return "", False
    url = reverse("admin:intake_submission_change", args=[submission_id])
    return url, submission_exists(submission_id)


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """The records whose key is a submission id, with a link to that submission."""
    form = KeySearchQuery(request.GET)
    if not form.is_valid():
        return _render(request, "search.html", "Records by submission", form=form, error=_form_error(form))
    topic = form.cleaned_data["topic"] or settings.KAFKA_TOPIC
    key = form.cleaned_data["key"].strip()
    context = {"topic": topic, "key": key, "depth": kafka.SEARCH_DEPTH}
    if not key:
        topics, error = _attempt(kafka.topic_names)
        return _render(request, "search.html", "Records by submission", topics=topics, error=error, **context)
    result, error = _attempt(kafka.records_with_key, topic, key)
    submission_url, submission_known = _submission_url(key)
    return _render(
        request,
        "search.html",
        "Records by submission",
        result=result,
        topics=result.topics if result else [],
        error=error,
        submission_url=submission_url,
        submission_known=submission_known,
        **context,
    )


@require_GET
def dead_letters(request: HttpRequest) -> HttpResponse:
    """The dead-letter topic, each record with its reason and a replay button."""
    form = DeadLettersQuery(request.GET)
    limit = (form.cleaned_data["limit"] if form.is_valid() else None) or kafka.DEFAULT_RECORDS
    page, error = _attempt(kafka.latest_records, dlq_topic(settings.KAFKA_TOPIC), limit=limit)
    return _render(
        request,
        "dlq.html",
        "Dead letters",
        page=page,
        error=error,
        limit=limit,
        replay_seconds=services.REPLAY_ALL_SECONDS,
    )


@require_POST
def dead_letter_replay(request: HttpRequest) -> HttpResponse:
    """Send one dead letter back to its topic."""
    form = DeadLetterRef(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing replayed: {_form_error(form)}")
        return redirect("console:dlq")
    partition, offset = form.cleaned_data["partition"], form.cleaned_data["offset"]
    try:
        replayed = services.dead_letter_replay(partition=partition, offset=offset)
    except ConsoleError as exc:
        messages.error(request, f"Nothing replayed: {exc}")
    else:
        messages.success(
            request,
            f"Replayed {dlq_topic(settings.KAFKA_TOPIC)}[{partition}]@{offset} to "
            f"{replayed.topic}[{replayed.partition}]@{replayed.offset}.",
        )
    return redirect("console:dlq")


@require_POST
def dead_letters_replay_all(request: HttpRequest) -> HttpResponse:
    """Send every dead letter parked since the last replay back, with the bridge's replay."""
    try:
        count = services.dead_letters_replay_all()
    except ConsoleError as exc:
        messages.error(request, f"Replay stopped: {exc}")
    else:
        messages.success(request, f"Replayed {count} dead letter(s) parked since the last replay.")
    return redirect("console:dlq")
