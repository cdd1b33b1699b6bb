"""The evidence store: key ring and blob store wiring, blobs and their rows, integrity checks."""
