"""Everything that touches evidence bytes: streaming encryption, key ring, blob backends.

Knows nothing of Flask or SQL. Entry points: ``storage.blobstore.BlobStore``,
``storage.crypto.key_directory`` (the key files), ``storage.crypto.keys`` (``KeyProvider``),
``storage.backends.make_backend``.
"""
