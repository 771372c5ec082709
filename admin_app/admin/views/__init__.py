"""One module per registered model view."""
