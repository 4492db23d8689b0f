# Validation first, with the same schema and code as the CLI; then wildcard constraints.
# No path logic lives here: every path comes from deepclust.paths.
import os
import sys

from deepclust import paths
from deepclust.cli import CONFIG_ENV
from deepclust.config import fingerprint, validate
from deepclust.settings import for_dataset
from deepclust.algorithms import ALGORITHMS
import inspect

CONFIGFILE = str(workflow.configfiles[-1])
config.update(validate(config, source=CONFIGFILE))

# Every job runs `deepclust <stage>` from the environment that runs Snakemake, and reads the
# config file Snakemake was given (the CLI's --config defaults to $DEEPCLUST_CONFIG).
os.environ.update(PATH=os.path.dirname(sys.executable) + os.pathsep + os.getenv("PATH", ""))
os.environ.update({CONFIG_ENV: os.path.abspath(CONFIGFILE)})


def algorithm_source(wildcards) -> str:
    """The file that defines an algorithm's fit (a plug-in's lives in its own package)."""
    return inspect.getsourcefile(ALGORITHMS[wildcards.algorithm].fit)


ENV = "../envs/deepclust.yaml"


wildcard_constraints:
    dataset="|".join(config["datasets"]),
    ae="|".join(config["autoencoders"]),
    algorithm="|".join(config["algorithms"]),
    seed=r"\d+",


localrules:
    all,
    summarize,
    report,
