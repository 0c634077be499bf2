import torch
from torch import nn

from clustlib.nets import recalibrate_bn


def test_recalibrate_bn_sets_the_exact_statistics_of_the_data_and_keeps_momentum():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    X = torch.randn(50, 3) * 3 + 1
    net.train()
    net(torch.randn(8, 3))  # stale statistics from another distribution
    net.eval()
    recalibrate_bn(net, X, batch=7)  # uneven chunks, the last of size 1 is skipped
    bn = net[1]
    H = net[0](X[:49]).detach()
    assert torch.allclose(bn.running_mean, H.mean(0), atol=1e-5)
    assert bn.momentum == 0.1 and not net.training
    # unbiased per-chunk variances, averaged over the chunks
    chunks = [H[i:i + 7] for i in range(0, 49, 7)]
    var = torch.stack([c.var(0, unbiased=True) for c in chunks]).mean(0)
    assert torch.allclose(bn.running_var, var, atol=1e-4)
