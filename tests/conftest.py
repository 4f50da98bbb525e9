"""The suite's fixtures live in tests/support/ and are loaded here as plugins, for every tier."""

pytest_plugins = [
    "tests.support.fixtures",
    "tests.support.cloud_fixtures",
    "tests.support.s3_fixtures",
    "tests.support.postgres_fixtures",
    "tests.support.redis_fixtures",
]
