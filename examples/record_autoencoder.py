"""Watch your own model learn: a small autoencoder on the digits, with k-means on its code
each epoch (DEC's first stage), recorded with clustlib.Recorder. Digits 8 and 9 are kept
out of training, so the app also shows where categories the model never saw land.

    python examples/record_autoencoder.py [OUT]    # then `make app`: Your model / Runs library
"""

import sys

import numpy as np
import torch
from sklearn.cluster import KMeans
from torch import nn

import clustlib


def main(out: str = "runs/autoencoder", epochs: int = 40, seed: int = 0) -> clustlib.Run:
    torch.manual_seed(seed)
    ds = clustlib.load_dataset("digits")                          # 1,797 images of 8 x 8
    X = torch.tensor(ds.X.reshape(len(ds), -1))
    seen = ~np.isin(ds.y, [8, 9])                                 # trained on digits 0-7 only
    encode = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    decode = nn.Sequential(nn.Linear(10, 128), nn.ReLU(), nn.Linear(128, 64))
    opt = torch.optim.Adam([*encode.parameters(), *decode.parameters()], lr=1e-3)
    rec = clustlib.Recorder(np.arange(len(ds)), data="digits", name="autoencoder + k-means",
                            unseen=[8, 9])                         # y comes from the dataset
    train = X[torch.from_numpy(seen)]
    for epoch in range(epochs):
        for batch in torch.randperm(len(train)).split(128):
            loss = ((decode(encode(train[batch])) - train[batch]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            Z = encode(X).numpy()
        labels = KMeans(8, n_init=5, random_state=seed).fit(Z[seen]).predict(Z)
        scores = rec.record(epoch + 1, Z, labels=labels, loss=loss.item())
    print(f"{out}: NMI {scores['nmi']:.3f} on digits 0-7, unseen 8-9 NMI {scores['unseen_nmi']:.3f}")
    return rec.save(out)


if __name__ == "__main__":
    main(*sys.argv[1:2])
