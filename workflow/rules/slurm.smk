# Workaround for the Slurm executor plug-in (snakemake-executor-plugin-slurm 2.8.0, the newest
# release): it reads each job's state from `sacct --format=JobIdRaw,State` and compares it with
# "CANCELLED", but sacct writes a job cancelled with `scancel` as "CANCELLED by <uid>". The
# plug-in then takes the job for running and Snakemake waits for it forever. Reduced to its
# first word, the state is "CANCELLED": the job fails (and is retried as the profile says).
# (Where the plug-in is not installed this does nothing; a local run never queries Slurm.)
import importlib.util

if importlib.util.find_spec("snakemake_executor_plugin_slurm") is not None:
    import snakemake_executor_plugin_slurm as slurm_executor

    if not hasattr(slurm_executor.query_job_status, "wrapped_query"):
        _query_job_status = slurm_executor.query_job_status

        async def _query_first_word_states(command, logger):
            states, seconds = await _query_job_status(command, logger)
            if states is not None:
                states = {job: (state.split() or [""])[0] for job, state in states.items()}
            return states, seconds

        _query_first_word_states.wrapped_query = _query_job_status
        slurm_executor.query_job_status = _query_first_word_states
