"""Exact backpropagation-through-time gradient norms for recurrent cells.

The package has wings, and imports point one way (downwards in this list):
  bptt.report    reads the collected Parquet, writes figures and the HTML report
  bptt.pipeline  job entry points, collect, table schemas, paths, seeding, config checks
  bptt.theory    mean-field predictions of gradient rates: numpy and bptt.core only
  bptt.core      cells, activations, initialisation, gradients: numpy only
"""

__version__ = "0.1.0"
