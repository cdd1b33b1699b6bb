"""Sanctions dossiers: `content` gathers, `pdf` typesets, `export` records and streams."""
