"""The package's files beyond `zoo/`: a wheel carries the recipes (`configs/` -> `zoo/configs/`) and the digit
classifier FID uses on 1-channel data (`checkpoints/digit_classifier.mnist/` -> `zoo/checkpoints/...`), so
`zoo.recipes` finds them in an installed package as in a checkout. The rest of the metadata is in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["zoo", "zoo.*"]), "zoo.configs", "zoo.checkpoints"],
    package_dir={"zoo.configs": "configs", "zoo.checkpoints": "checkpoints"},
    package_data={"zoo": ["pretrained.json"], "zoo.configs": ["*.yaml", "*/*.yaml"],
                  "zoo.checkpoints": ["digit_classifier.mnist/*"]},
)
