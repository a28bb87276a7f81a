"""lakeprep."""
