"""The audit engine: read map, position classes, bit-exact proof, switch-on analysis, contrasts."""
