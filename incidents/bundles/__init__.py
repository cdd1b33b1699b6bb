"""Evidence bundles (DESIGN §5): a streamed BagIt bag in a ZIP, and its offline verifier."""
