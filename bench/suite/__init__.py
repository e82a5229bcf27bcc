"""Python side of the benchmark suite (bench/run-suite): orchestration and report generation."""
