"""Everything that touches files and Delta tables: landing readers and Delta helpers."""
