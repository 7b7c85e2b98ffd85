"""Getting the archive out in formats other tools read: Atom feeds
(``atom``). Sits above the store and below the daemon, which serves the
feeds over HTTP; the CLI writes them to files (docs/EXPORTS.md)."""
