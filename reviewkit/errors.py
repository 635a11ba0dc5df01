"""The exceptions reviewkit raises on purpose, each with the exit code the CLI uses.

The CLI turns any of these into one or two plain lines; anything else is a bug and
shows a traceback only with `--debug`.
"""

from __future__ import annotations


class ReviewkitError(Exception):
    """Base of every error reviewkit reports to the user."""

    exit_code = 1


class OperationFailed(ReviewkitError):
    """The operation ran and failed: an SQL error, a lock timeout, an unreachable database."""

    exit_code = 1


class Interrupted(ReviewkitError):
    """Ctrl-C stopped the command; the message says what of the work stands."""

    exit_code = 130


class LockTimeout(OperationFailed):
    """Another runner held the database's migration lock for longer than --lock-timeout."""


class LockTableTooSmall(OperationFailed):
    """A bundle's one transaction would take more locks than the server's lock table has room for; nothing ran."""


class LedgerMismatch(ReviewkitError):
    """The ledger and the bundles disagree: unknown bundles, gaps, edits after apply, a broken chain."""

    exit_code = 3


class UsageError(ReviewkitError):
    """The command line or the configuration is wrong."""

    exit_code = 2


class OneOffDefaultMissing(UsageError):
    """A column becomes NOT NULL without a default over rows that may exist, and no one-off default was given."""


class ConfigError(UsageError):
    """reviewkit.toml (or [tool.reviewkit]) is missing or invalid."""


class ModelError(UsageError):
    """A model file does not parse or declares something reviewkit cannot map."""


class UnsupportedType(ModelError):
    """A column type has no faithful mapping in one of the configured dialects."""


class MergeConflict(UsageError):
    """Two branches of the history change the same object of the schema in different ways."""


class BundleNotFound(UsageError):
    """No bundle matches the number, id or path given."""


class IntegrityError(ReviewkitError):
    """A bundle's files do not match its manifest, or the manifest is malformed."""

    exit_code = 3
