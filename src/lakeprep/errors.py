"""Errors a user can hit. Every message says what went wrong and what to do about it."""

from __future__ import annotations

__all__ = ["LakeprepError", "ConfigError", "LandingError", "TableNotFoundError", "SparkSetupError"]


class LakeprepError(Exception):
    """Base class of every error lakeprep raises on purpose (the CLI prints these without a traceback)."""


class ConfigError(LakeprepError):
    """A configuration key is unknown or has a bad value."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"config key '{key}': {message}")


class LandingError(LakeprepError):
    """The landing directory cannot be listed."""


class TableNotFoundError(LakeprepError):
    """A Delta table that a command needs has not been written yet."""


class SparkSetupError(LakeprepError):
    """Spark or Delta is not set up the way lakeprep needs."""


class SchemaOutdatedError(LakeprepError):
    """A stored table lacks columns this version of lakeprep writes (it was made by an older version)."""
