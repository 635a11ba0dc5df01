"""reviewkit inside a target database: `statements` splits scripts, `execute` runs them,
`ledger` records each bundle run, `runner` applies bundles, `status` reports where they
stand, `introspect` reads the live schema back."""
