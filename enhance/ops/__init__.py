"""Image operations shared by inference, training and export (pure torch / numpy, no model code)."""
