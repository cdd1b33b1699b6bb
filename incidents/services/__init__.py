"""Domain services: take a session and the acting user, never import Flask."""
