"""DBA sign-off: `keys` (Ed25519, OpenSSH formats), `reviewers` (who may approve),
`approvals` (signing, checking, the policy) and `verify` (the report of every bundle)."""
