"""Native decoders that write to the process's stderr themselves (libpng inside OpenCV, libtiff
inside Pillow, the Rust panic hook of pylibjpeg-rle: all found by fuzzing) run with file descriptor
2 on /dev/null, so that a corrupt file is one line from the CLI rather than a C library's chatter
and a backtrace. :func:`enhance.io.decode_image` runs every decoder so."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

_lock = threading.Lock()
_depth = 0  # sections open now (threads decoding at once share one redirection)
_saved: int | None = None


@contextmanager
def silenced_stderr() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null while any such section is open (Python's own
    ``sys.stderr`` writes made meanwhile are lost too: keep the sections to decoding)."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            with suppress(Exception):
                sys.stderr.flush()
            try:
                saved = os.dup(2)
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 2)
                os.close(devnull)
                _saved = saved
            except OSError:  # no fd 2 (e.g. a GUI process): nothing to silence
                _saved = None
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                os.dup2(_saved, 2)
                os.close(_saved)
                _saved = None
