"""FedAvg (McMahan et al., 2017).

Each round: the server sends the global model to the sampled clients; each trains it for
``local_epochs`` on its own data; the server averages the returned models weighted by data size.
"""

from c3bench.federated import FederatedMethod
from c3bench.registry import register_method


@register_method
class FedAvg(FederatedMethod):
    name = "fedavg"
    description = ("Federated averaging: local epochs on each client, models averaged by data size (defaults as "
                   "the AdaSplit authors ran their FL tables: 1 local epoch, batch 100, Adam lr 3.3e-4; "
                   "their 5 clients and 20 rounds come from the protocol).")
