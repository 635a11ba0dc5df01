"""reviewkit: reviewed, signed, checksummed schema migrations."""

__version__ = "0.1.0"
