"""Known md5 checksums of dataset files, keyed by their path relative to a data root.

``SHARED_LAYOUT``: the offline copies of the shared data folder (its ``MD5SUMS``); the same for
everyone who has that layout. ``CANONICAL_EXTRACTED``: the files inside the canonical CIFAR
archives once extracted (the values torchvision checks). The downloadable files themselves (the
IDX ``.gz`` files and archives) carry their md5 in the download table of
:mod:`c3bench.data.datasets`; :func:`c3bench.data.datasets.known_checksums` joins all three.
"""

from __future__ import annotations

SHARED_LAYOUT: dict[str, str] = {
    "MNIST/raw/t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "MNIST/raw/t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    "MNIST/raw/train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "MNIST/raw/train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "FashionMNIST/raw/t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "FashionMNIST/raw/t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    "FashionMNIST/raw/train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "FashionMNIST/raw/train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "CIFAR-10-images/train.tar": "ed3fb47510fb260800dd7c454db98a57",
    "CIFAR-10-images/test.tar": "54ad88d5de999096edd0c14a3845d8bb",
    "CIFAR-10-images/classes.txt": "40a0b180e208fe03a63ecc891b2555ad",
    "CIFAR-100-images/train.tar": "3164c049070c9baaa2446531269e8967",
    "CIFAR-100-images/classes.txt": "b517b835c830bc54413daa4cf904aad9",
    "CIFAR-100-images/superclasses.tsv": "5a3ddc261a972e62d3acfedb87ca7b86",
    "notMNIST_small/notMNIST_small.tar": "28496d137aa5ed884c848939e37ab68e",
}

CANONICAL_EXTRACTED: dict[str, str] = {
    "cifar-10-batches-py/data_batch_1": "c99cafc152244af753f735de768cd75f",
    "cifar-10-batches-py/data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "cifar-10-batches-py/data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "cifar-10-batches-py/data_batch_4": "634d18415352ddfa80567beed471001a",
    "cifar-10-batches-py/data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "cifar-10-batches-py/test_batch": "40351d587109b95175f43aff81a1287e",
    "cifar-10-batches-py/batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
    "cifar-100-python/train": "16019d7e3df5f24257cddd939b257f8d",
    "cifar-100-python/test": "f0ef6b0ae62326f3e7ffdfab6717acfc",
    "cifar-100-python/meta": "7973b15100ade9c7d40fb424638fde48",
}
