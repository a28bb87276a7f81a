"""Gold tables of lakeprep for Spark Declarative Pipelines / Databricks DLT.

The definitions are lakeprep's table specs (``lakeprep.pipeline.layers``), the same the batch runner
uses; this file only registers them. ``spark`` is provided by the pipeline runner.
"""

from lakeprep.pipeline.declarative import define_layer

define_layer("gold", spark)  # type: ignore[name-defined]  # noqa: F821
