import factory

from intake.models import Submission


class SubmissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Submission

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"person{n}@example.org")
    company = "Example Ltd"
    message = "I would like to know more."
