"""Built-in models, one per file. Add a file here to add a model."""
