"""Who is responsible: actors and their posts (`registry`), incidents' involvement links with
citations and translations (`involvements`), derived command chains (`chain`), seeding from
config/actors.json (`seed`). Everything naming or describing a person is sealed (`sealed`)."""
