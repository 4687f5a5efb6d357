"""Process facts shared by whoever must tell whether a process on this host still lives: crash
recovery (a dead scheduler node) and async ops jobs (a dead job runner)."""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host (one we may not signal counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
