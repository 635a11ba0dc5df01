"""Bundles on disk: `store` reads, writes and orders them, `digest` hashes their files and
manifest, `seal` re-lists a hand-edited bundle."""

from reviewkit.bundle.store import Bundle, find_bundle, load_bundles

__all__ = ["Bundle", "find_bundle", "load_bundles"]
