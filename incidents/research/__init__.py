"""What researchers see: public incidents, their filters, chart, map and open-data exports.

Pure code over `PublicIncident` values: no Flask, no SQLAlchemy. The incidents service turns
published incidents into `PublicIncident`s (the only shape that leaves for researchers), and
the research views and API render them with the modules here.
"""
