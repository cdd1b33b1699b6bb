"""Evidence bundles (DESIGN §5): a streamed BagIt bag in a ZIP, and its offline verifier.

`export` plans and records a bundle export (database, custody); `builder` streams the bag;
`sources` opens its items; `verify` is the standalone verifier copied into every bundle
(standard library plus `cryptography` only, one file by design).
"""
