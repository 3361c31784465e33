"""The pipeline's side of the library: job entry points, table schemas, paths, config checks.

May import `bptt.core` (and later `bptt.theory`, `bptt.train`), numpy and pyarrow;
never `bptt.report`. The experiment entry imports numpy and the core alone, because
its process start-up is paid once per job.
"""
