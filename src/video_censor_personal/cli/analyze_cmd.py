"""Placeholder: commands registered here are being written."""


def register(group) -> None:
    """Add this module's commands to `group`."""
