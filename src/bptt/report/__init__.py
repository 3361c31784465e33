"""The HTML report: figures, findings and provenance computed from the collected Parquet.

Data flows one way: `render` reads results/gradients.parquet, results/summary.parquet and
results/eigenvalues.parquet, `figures` turns DataFrames into matplotlib Figures, `findings`
turns them into sentences and a summary table, `mathml` converts the report's LaTeX to MathML
when the page is built, and `provenance` records how the numbers were made. Nothing here
recomputes a gradient; `spectrum` is the one producer, of the eigenvalue table.

Command line: ``python -m bptt.report --help``.
"""
