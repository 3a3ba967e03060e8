"""Subcommands of the ``didrtc`` command line that belong to the identity layer."""
