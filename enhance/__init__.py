"""enhance: super-resolution, denoising and inpainting with models we trained ourselves.

```python
import enhance
enh = enhance.load("upscale", scale=4)
out = enh(image)                      # numpy or PIL in, the same type and dtype out
enhance.denoise(image, strength=1.0)
```
"""

from enhance.api import denoise, get_spec, inpaint, list_models, load, restore, spec_by_name, upscale
from enhance.engine import Enhancer
from enhance.errors import (
    ConfigError,
    DuplicateModelError,
    EnhanceError,
    ImageReadError,
    ImageTooLargeError,
    ImageWriteError,
    InvalidInputError,
    ModelNotFoundError,
    UnsupportedFormatError,
    WeightsError,
)
from enhance.spec import ModelSpec

from enhance.version import __version__

__all__ = [
    "__version__",
    "load",
    "upscale",
    "denoise",
    "inpaint",
    "restore",
    "list_models",
    "get_spec",
    "spec_by_name",
    "Enhancer",
    "ModelSpec",
    "EnhanceError",
    "ImageReadError",
    "UnsupportedFormatError",
    "ImageTooLargeError",
    "ImageWriteError",
    "InvalidInputError",
    "ModelNotFoundError",
    "WeightsError",
    "DuplicateModelError",
    "ConfigError",
]
