"""User-facing errors: the CLI prints these as one line and exits non-zero, without a traceback."""

from __future__ import annotations


class GanforgeError(Exception):
    """An error caused by the user's input or environment, with a message that says what to do."""

    exit_code = 2


class DataError(GanforgeError):
    """A dataset could not be found, fetched, decoded or prepared."""


class ConfigError(GanforgeError):
    """A configuration value or combination is invalid."""


class CheckpointError(GanforgeError):
    """A run directory, checkpoint or exported model is missing or unreadable."""


class TrainingError(GanforgeError):
    """Training had to stop (for example a non-finite loss)."""

    exit_code = 3
