"""Shared pytest configuration: the real-services plugin for integration tests."""

pytest_plugins = ["tests.integration.conftest_services"]
