"""The Slurm profile without a Slurm: what its settings block gives each job (a dry run), and the
workaround for the executor plug-in's reading of "CANCELLED by <uid>"."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, TINY_CONFIG

pytestmark = pytest.mark.slow


def _dry_run(workdir: Path, profile_edit=None) -> dict[tuple[str, str], dict[str, str]]:
    """``snakemake -n --profile slurm``'s resources of each job, keyed by (rule, algorithm)."""
    shutil.copy(ROOT / "Snakefile", workdir)
    for name in ("workflow", "slurm"):
        shutil.copytree(ROOT / name, workdir / name)
    if profile_edit:
        profile = workdir / "slurm" / "config.yaml"
        profile.write_text(profile_edit(profile.read_text()))
    cfg = yaml.safe_load(TINY_CONFIG.read_text())
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))
    cmd = [str(Path(sys.executable).with_name("snakemake")), "-n", "--cores", "8"]
    cmd += ["--profile", "slurm"]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    jobs = {}
    for block in re.split(r"\n\s*rule ", proc.stdout)[1:]:
        rule = block.split(":", 1)[0]
        algorithm = re.search(r"algorithm=(\w+)", block)
        resources = re.search(r"resources: (.*)", block).group(1)
        pairs = dict(item.split("=", 1) for item in resources.split(", "))
        jobs[(rule, algorithm.group(1) if algorithm else "")] = pairs
    return jobs


def test_the_settings_block_sets_each_jobs_partition_gpu_memory_and_time(tmp_path):
    def site(text: str) -> str:  # a site's edit of the settings block, and nothing else
        text = text.replace("gpu_partition: gpu ", "gpu_partition: a100q ")
        text = text.replace('gpu_model: ""', "gpu_model: a100")
        return text.replace('account: ""', "account: proj42")

    jobs = _dry_run(tmp_path, site)
    pretrain, dec, aekm = jobs[("pretrain", "")], jobs[("fit", "dec")], jobs[("fit", "aekm")]
    for job in (pretrain, dec):
        assert job["slurm_partition"] == "a100q" and job["gpu"] == "1", job
        assert job["gpu_model"] == "a100" and job["mem_mb"] == "4000", job
    # AE+k-means trains nothing: its run goes to the CPU partition without a GPU
    assert aekm["slurm_partition"] == "debug" and aekm["gpu"] == "0" and aekm["gpu_model"] == ""
    # a run's scoring and figures share its job, so they share its partition
    assert jobs[("evaluate", "dec")]["slurm_partition"] == "a100q"
    assert jobs[("plot_run", "aekm")]["slurm_partition"] == "debug"
    for rule in ("prepare", "init"):
        job = jobs[(rule, "")]
        assert job["slurm_partition"] == "debug" and "gpu" not in job, job
    assert all(job["slurm_account"] == "proj42" for job in jobs.values())
    assert jobs[("prepare", "")]["runtime"] == "30" and pretrain["runtime"] == "240"


def test_a_cancelled_jobs_state_is_read_as_cancelled(monkeypatch):
    """sacct says "CANCELLED by 0"; the plug-in knows only "CANCELLED" (and would wait for the
    job forever): workflow/rules/slurm.smk cuts each state to its first word."""

    async def sacct(command, logger):
        return {"41": "CANCELLED by 0", "42": "RUNNING", "43": "TIMEOUT", "44": ""}, 0.01

    plugin = types.ModuleType("snakemake_executor_plugin_slurm")
    plugin.__spec__ = types.SimpleNamespace(name=plugin.__name__)
    plugin.query_job_status = sacct
    monkeypatch.setitem(sys.modules, plugin.__name__, plugin)
    monkeypatch.setattr("importlib.util.find_spec", lambda name: plugin.__spec__)
    source = (ROOT / "workflow" / "rules" / "slurm.smk").read_text()
    for _ in range(2):  # a second include (a job's own Snakemake) does not wrap it twice
        exec(compile(source, "slurm.smk", "exec"), {})
    states, _ = asyncio.run(plugin.query_job_status("sacct ...", None))
    assert states == {"41": "CANCELLED", "42": "RUNNING", "43": "TIMEOUT", "44": ""}
    assert plugin.query_job_status.wrapped_query is sacct
