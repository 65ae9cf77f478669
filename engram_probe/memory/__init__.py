"""Per-user memory: facts as Engram rows, overlays, write strategies and the store."""

from engram_probe.memory.overlay import PRECEDENCE_RULE, Collision, MemoryOverlay, RowOverride
from engram_probe.memory.user_memory import Fact, UserMemory

__all__ = ["PRECEDENCE_RULE", "Collision", "Fact", "MemoryOverlay", "RowOverride", "UserMemory"]
