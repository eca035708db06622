"""Inversion and editing of image generators (issue 31): projection by optimisation, SeFa directions, the CLI."""
