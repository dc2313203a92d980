"""Exact accounting: the channel (bytes), the FLOP meter, the ledger and budgets."""

from c3bench.accounting.channel import SERVER, Channel, Encoding, payload_bytes, tensor_bytes
from c3bench.accounting.flops import FlopMeter, StepCost, forward_cost, train_step_cost
from c3bench.accounting.ledger import BudgetExceeded, Budgets, Counters, Ledger

__all__ = [
    "SERVER", "Channel", "Encoding", "payload_bytes", "tensor_bytes",
    "FlopMeter", "StepCost", "forward_cost", "train_step_cost",
    "Budgets", "BudgetExceeded", "Counters", "Ledger",
]
