"""Writing and reading files safely: atomic file and folder publishing, table files, figures."""
