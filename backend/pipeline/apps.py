from django.apps import AppConfig


class PipelineConfig(AppConfig):
    """On top of the stages: what needs more than one of them (erasure, so far)."""

    name = "pipeline"
