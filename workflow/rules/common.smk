# Validation first, with the same schema and code as the CLI; then wildcard constraints.
# No stage or path logic lives here: inputs, outputs, config params and the command of every
# rule come from deepclust.workflow's stage table, which dvc.yaml is rendered from too.
import os
import sys

from deepclust import paths
from deepclust.cli import CONFIG_ENV
from deepclust.config import fingerprint, validate
from deepclust.workflow import STAGES, code_files, command, config_slice, expand

CONFIGFILE = str(workflow.configfiles[-1])
config.update(validate(config, source=CONFIGFILE))

# Every job runs `deepclust <stage>` from the environment that runs Snakemake, and reads the
# config file Snakemake was given (the CLI's --config defaults to $DEEPCLUST_CONFIG): the
# command line is dvc.yaml's, and its path is in no rule, so another --configfile with the
# same settings reruns nothing.
os.environ.update(PATH=os.path.dirname(sys.executable) + os.pathsep + os.getenv("PATH", ""))
os.environ.update({CONFIG_ENV: os.path.abspath(CONFIGFILE)})


def _fields(stage, wildcards) -> dict:
    return {key: wildcards[key] for key in stage.keys}


def inputs(name: str) -> dict:
    """A stage's inputs (an unkeyed stage's over every run) and the source files it runs."""
    stage = STAGES[name]
    files = {k: p if stage.keys else expand(p, config) for k, p in stage.inputs.items()}
    code = lambda wc: [str(p) for p in code_files(stage, getattr(wc, "algorithm", None))]
    return {**files, "code": code}


def outputs(name: str) -> dict:
    stage = STAGES[name]
    return {k: p if stage.keys else expand(p, config) for k, p in stage.outputs.items()}


def params(name: str) -> dict:
    """The config slice a job depends on: a change reruns it."""
    stage = STAGES[name]
    return {"cfg": lambda wc: fingerprint(config_slice(stage, config, _fields(stage, wc)))}


def shell_command(name: str) -> str:
    """The stage's command line as dvc.yaml has it, for Snakemake to fill in with the job's
    wildcards."""
    stage = STAGES[name]
    return command(stage, {key: "{wildcards.%s}" % key for key in stage.keys}) + " > {log} 2>&1"


PLOT_RUN = outputs("plot_run")


def run_figure(name: str):
    """A run's figure, filed in the report under its dataset and algorithm."""
    return report(
        PLOT_RUN[name],
        caption=f"../report/{name}.rst",
        category="{dataset}",
        subcategory="{algorithm}",
        labels={"seed": "{seed}", "autoencoder": "{ae}", "figure": name},
    )


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
