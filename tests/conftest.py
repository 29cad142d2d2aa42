"""Shared test configuration: a deterministic Hypothesis profile."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "thermoref",
    derandomize=True,
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("thermoref")
