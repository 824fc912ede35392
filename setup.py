"""The package's files beyond `zoo/`: a wheel carries the recipes (`configs/` -> `zoo/configs/`) and the digit
classifier FID uses on 1-channel data (`checkpoints/digit_classifier.mnist/` -> `zoo/checkpoints/...`), so
`zoo.hub.recipes` finds them in an installed package as in a checkout. The rest of the metadata is in pyproject.toml."""

from setuptools import find_namespace_packages, find_packages, setup

recipe_packages = ["zoo.configs", *(f"zoo.configs.{name}" for name in find_namespace_packages(where="configs"))]

setup(
    packages=[*find_packages(include=["zoo", "zoo.*"]), *recipe_packages, "zoo.checkpoints"],
    package_dir={"zoo.configs": "configs", "zoo.checkpoints": "checkpoints"},
    package_data={"zoo.hub": ["pretrained.json"], **{name: ["*.yaml"] for name in recipe_packages},
                  "zoo.checkpoints": ["digit_classifier.mnist/*", "digit_classifier_lenet.mnist/*"]},
)
