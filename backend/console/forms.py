"""What the console's pages accept in their query strings and forms."""

from django import forms

from console.kafka import DEFAULT_RECORDS, MAX_RECORDS

# Kafka's own limit on a topic name.
TOPIC_MAX_LENGTH = 249


class RecordsQuery(forms.Form):
    topic = forms.CharField(max_length=TOPIC_MAX_LENGTH, required=False)
    partition = forms.IntegerField(min_value=0, required=False)
    limit = forms.IntegerField(min_value=1, max_value=MAX_RECORDS, required=False, initial=DEFAULT_RECORDS)


class KeySearchQuery(forms.Form):
    topic = forms.CharField(max_length=TOPIC_MAX_LENGTH, required=False)
    key = forms.CharField(max_length=200, required=False)


class DeadLettersQuery(forms.Form):
    limit = forms.IntegerField(min_value=1, max_value=MAX_RECORDS, required=False, initial=DEFAULT_RECORDS)


class DeadLetterRef(forms.Form):
    partition = forms.IntegerField(min_value=0)
    offset = forms.IntegerField(min_value=0)
