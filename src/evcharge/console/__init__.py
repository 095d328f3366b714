"""The operator's console: server-rendered pages at `/` and `/ui/…` (docs/console.md)."""
