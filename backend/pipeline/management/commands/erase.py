from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from pipeline.erasure import person_erase
from workflow.crm_client import CrmError, CrmTransientError


class Command(BaseCommand):
    help = (
        "Erase one person's data everywhere the stack keeps it: their submissions with everything hanging off "
        "them, their outbox rows, and their leads in the CRM (see pipeline/erasure.py). Events on Kafka carry "
        "ids only, so no copy there names them. Work in flight is erased too: its remaining steps find nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True, help="the person's address (any letter case, any +tag)")
        parser.add_argument("--dry-run", action="store_true", help="say what would be erased, erase nothing")

    def handle(self, *args, email: str, dry_run: bool, **options):
        try:
            validate_email(email.strip())
        except ValidationError as exc:
            raise CommandError(f"--email {email!r} is not an email address") from exc
        try:
            erasure = person_erase(email=email, dry_run=dry_run)
        except (CrmError, CrmTransientError) as exc:
            raise CommandError(f"nothing erased: the CRM could not erase its copy ({exc}); run it again") from exc
        if dry_run:
            self.stdout.write(
                f"{len(erasure.submissions)} submission(s) would be erased (dry run); the CRM is asked when it runs."
            )
            return
        self.stdout.write(f"Erased {len(erasure.submissions)} submission(s) and {erasure.crm_leads} CRM lead(s):")
        for label, count in sorted(erasure.rows.items()):
            self.stdout.write(f"  {label}: {count}")
