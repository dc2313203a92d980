"""AdaSplit's own parts (used by ``c3bench/methods/adasplit.py`` only): the client's contrastive loss and
projection head, the per-client server masks, and the UCB orchestrator."""
