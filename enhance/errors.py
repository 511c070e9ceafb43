"""Typed errors. The library raises these and never prints; the CLI turns them into one-line messages.

Every error that concerns a file names the file first: ``"photo.png: truncated PNG data"``.
"""

from __future__ import annotations

from pathlib import Path


class EnhanceError(Exception):
    """Base class of every error raised on purpose by ``enhance``."""


def one_line(text: str) -> str:
    """``text`` as one printable line: control characters and line breaks (which a corrupt file's
    values can carry into a message, found by fuzzing) become spaces, runs of spaces one."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


class ImageReadError(EnhanceError):
    """An input image could not be read: unreadable, truncated, empty, mislabelled or unsupported."""

    def __init__(self, path: str | Path | None, problem: str) -> None:
        self.path = None if path is None else Path(path)
        self.problem = problem = one_line(problem)
        super().__init__(f"{path}: {problem}" if path is not None else problem)


class UnsupportedFormatError(ImageReadError):
    """The file is not in a format ``enhance`` reads or writes."""


class ImageTooLargeError(ImageReadError):
    """The image exceeds the decompression-bomb limit (see ``enhance.io.set_max_pixels``)."""


class ImageWriteError(EnhanceError):
    """An output image could not be written."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem = one_line(problem)
        super().__init__(f"{path}: {problem}")


class OutputExistsError(ImageWriteError):
    """The output file exists and may not be replaced (it may have appeared while we worked)."""


class InvalidInputError(EnhanceError):
    """An in-memory input (array, PIL image, mask, option) is not acceptable."""


class ModelNotFoundError(EnhanceError):
    """No registered model has this name, or no model serves this task and scale."""


class WeightsError(EnhanceError):
    """A weight file is missing, unreadable, or does not match the sha256 in the manifest."""


class DuplicateModelError(EnhanceError):
    """Two model specs were registered under the same name."""


class ConfigError(EnhanceError):
    """A training or export configuration is invalid (unknown key, bad value)."""
