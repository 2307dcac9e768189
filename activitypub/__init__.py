"""ActivityPub protocol core: no database, no imports from the application."""
