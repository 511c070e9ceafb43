"""Network architectures. Each architecture lives in its own module; builders are referenced by ModelSpec."""

from enhance.archs.discriminators import PatchCritic, UNetDiscriminatorSN
from enhance.archs.srnet import CompactSR, RRDBNet
from enhance.archs.unet import UNetRestorer

__all__ = ["CompactSR", "RRDBNet", "UNetRestorer", "PatchCritic", "UNetDiscriminatorSN"]
