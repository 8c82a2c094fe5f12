"""Provenance helpers shared by the peer scripts (bench_peers.py, kvpress_peer.py)."""

import platform
import subprocess


def git(*args):
    """A git command's output, or "" outside a repository or without git."""
    try:
        return subprocess.run(["git"] + list(args), capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def cpu_model():
    """The CPU's model name from /proc/cpuinfo (platform.processor() elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
