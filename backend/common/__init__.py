"""Helpers without Django, for the Django processes and the bridge alike."""
