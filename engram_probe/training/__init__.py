"""Training: the loop that pretrains a model, the build of the shipped model, and its model card."""
