import factory

from intake.access import access_token_new
from intake.models import Submission


class SubmissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Submission

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"person{n}@example.org")
    company = "Example Ltd"
    message = "I would like to know more."


def access_token_for(submission: Submission) -> str:
    """Give a factory-made submission an access token, as `submission_create` does; returns the token."""
    token, digest = access_token_new()
    Submission.objects.filter(pk=submission.pk).update(access_token_hash=digest)
    submission.access_token_hash = digest
    return token
