"""The napari plugin (``pip install 'enhance[napari]'``): a dock widget and a DICOM reader.

napari finds it through the ``napari.manifest`` entry point (``napari.yaml`` here). Nothing in
the core library imports this package; it needs napari and a Qt binding, the library does not.
"""
