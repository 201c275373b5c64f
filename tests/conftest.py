"""Fixtures shared across the suite: real databases and the storage-node VM."""

pytest_plugins = ["tests.db_fixtures", "tests.storage_vm.fixture"]
