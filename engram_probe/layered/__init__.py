"""The paper's layered system: one shared reasoning adapter over per-user Engram rows, and its audit.

Data flows one way: user records -> samples -> shared adapter (trained once) -> conditions A-F per test
user -> scores and read-map evidence -> report.
"""
