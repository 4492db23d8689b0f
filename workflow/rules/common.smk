# Validation first, with the same schema and code as the CLI; then wildcard constraints and
# the targets, all from deepclust (no path logic lives here).
import shlex
import sys

from deepclust import paths
from deepclust.config import validate

CONFIGFILE = str(workflow.configfiles[-1])
config.update(validate(config, source=CONFIGFILE))

# The interpreter running Snakemake is the one that has deepclust installed.
PYTHON = shlex.quote(sys.executable)
DEEPCLUST = f"{PYTHON} -m deepclust"
CONFIGFILE = shlex.quote(CONFIGFILE)
SRC = Path(workflow.basedir) / "src" / "deepclust"


wildcard_constraints:
    dataset="|".join(config["datasets"]),
    ae="|".join(config["autoencoders"]),
    algorithm="|".join(config["algorithms"]),
    seed=r"\d+",


localrules:
    all,
    summarize,
    report,
