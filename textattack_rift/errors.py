"""Errors a user can fix. The CLI prints them as one line and exits non-zero (no traceback)."""


class RiftUserError(Exception):
    """Bad input or a missing resource: the message names the problem and what to do."""


class ResourceMissing(RiftUserError):
    """A model, dataset or file that is not available here (often: needs the internet)."""
