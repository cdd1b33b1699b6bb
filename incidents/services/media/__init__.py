"""Media processing: type sniffing, metadata extraction, derivatives, perceptual hashes."""
