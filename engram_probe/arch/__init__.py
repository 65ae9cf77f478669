"""The hooked Engram architectures, one module each, all on the seam in ``engram_probe.arch.base``.

- ``workbench``: :class:`~engram_probe.arch.workbench.EngramTransformer`, the shipped model.
- ``nanochat``: :class:`~engram_probe.arch.nanochat.NanochatEngram`, the paper's nanochat-engram GPT.
- ``hf_engram``: :class:`~engram_probe.arch.hf_engram.HFEngramModel`, a Hugging Face causal LM with engram-peft
  adapter layers.

All build their Engram layers from the one read in ``engram_read``; shared maths is in ``layers``.
How each recognises and loads a model directory is registered in ``engram_probe.arch.loading``.
"""
