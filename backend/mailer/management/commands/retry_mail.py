from celery import current_app as celery_app
from django.core.management.base import BaseCommand

from events.work import mail_send
from mailer.services import mail_retry_failed


class Command(BaseCommand):
    help = "Send FAILED confirmation emails again (all of them, or the given submission ids), with a new horizon."

    def add_arguments(self, parser):
        parser.add_argument("submission_ids", nargs="*", help="submission ids (default: every failed email)")

    def handle(self, *args, submission_ids: list[str], **options):
        ids = mail_retry_failed(submission_ids=submission_ids or None)
        for submission_id in ids:
            mail_send(celery_app, submission_id)
        self.stdout.write(f"{len(ids)} email(s) sent to the mailer again")
