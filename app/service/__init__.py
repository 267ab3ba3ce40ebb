"""Use cases that tie the core, the store and the plugins together.
Used by both the CLI and the UI; never imports Qt."""
