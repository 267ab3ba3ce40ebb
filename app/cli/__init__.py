"""The command line CI and scripts rely on. Never imports Qt at module level:
only `signoff` (no command) and `signoff demo` without --no-gui open the window."""
