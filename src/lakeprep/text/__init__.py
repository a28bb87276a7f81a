"""Pure-Python text kernels (no Spark): normalization and quality signals."""
