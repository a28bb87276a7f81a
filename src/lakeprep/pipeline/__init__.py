"""Runners: the batch runner (spark-submit) and the layer definitions it walks."""
