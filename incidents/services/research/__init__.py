"""What researchers see: public incidents, their filters, chart, map and open-data exports.

`queries` reads published incidents from the database (the only SQL of this package) and
turns them into `PublicIncident`s, the only shape that leaves for researchers; the other
modules are pure code over those values (no SQLAlchemy): filters, chart, map, exports,
suppression of small counts, SVG.
"""
