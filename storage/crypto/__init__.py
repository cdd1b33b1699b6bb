"""All of the project's cryptography: streaming AEAD, key ring, hashing, Merkle trees, signing.

Only modules in this package may import ``cryptography`` (ruff TID251 enforces it).
"""
