"""Training recurrent networks with bptt's own exact gradients: tasks, readout, optimisers, clipping, the loop.

The seed's remedies (clipping for explosion; ReLU with identity initialisation and gates for
vanishing) are claims about training; this wing lets the data test them. Gradients come from
`bptt.core.gradients` alone, so what is trained is what the rest of the project measures.

May import `bptt.core` only, and numpy only (like the core, nothing of files, Snakemake,
tables or plots): `bptt.pipeline` and `bptt.report` use it, never the other way round.
"""
