"""Self-contained data generators: synthetic users and the language-model training corpus."""
