from django.core.management.base import BaseCommand

from workflow.models import SagaRun
from workflow.recovery import saga_retry_compensation


class Command(BaseCommand):
    help = "Run again the undos that failed in COMPENSATION_FAILED runs (all of them, or the given submission ids)."

    def add_arguments(self, parser):
        parser.add_argument("submission_ids", nargs="*", help="submission ids (default: every such run)")

    def handle(self, *args, submission_ids: list[str], **options):
        runs = SagaRun.objects.filter(status=SagaRun.Status.COMPENSATION_FAILED)
        if submission_ids:
            runs = runs.filter(submission_id__in=submission_ids)
        results = [
            saga_retry_compensation(submission_id=str(pk)) for pk in runs.values_list("submission_id", flat=True)
        ]
        self.stdout.write(f"{sum(1 for r in results if r['retried'])} run(s) compensating again")
