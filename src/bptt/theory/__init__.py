"""Theory: predictions to set beside the measured gradients.

Imports numpy, the standard library and `bptt.core` only (for the activation
registry and the argument checks), and nothing else from bptt: the pipeline and
the report may use it, never the other way round.

  meanfield   mean-field rate at which ||dL/dh_k|| vanishes or explodes in the Elman
              network (q_star, chi1, gradient_rate, timescale, critical_radius), and the
              one-line theory of the LSTM forget path (forget_path_rate)
  gated       mean-field forward moments and gradient rate of the LSTM and the GRU
              (gated_gradient_rate, gated_modes, gated_profile, gated_stationary; docs/theory.md)
  dmft        the gated cells' gradient profile in dynamical mean field: a unit's fields as Gaussian
              processes in time, by Monte Carlo over the single-unit process (dmft_profile)
"""
