"""Exact backpropagation-through-time gradient norms for recurrent cells.

The numerical core (`activations`, `init`, `cells`, `gradients`) depends on
numpy alone; the rest of the package turns its output into tables and a report.
"""

__version__ = "0.1.0"
