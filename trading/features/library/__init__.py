"""Built-in features, one family per file. Add a file here to add features."""
