"""The alerts' shell: facts from the store, incident state kept between runs, one evaluation.

    state.py    where the incidents live between runs: a local store's alerts/ folder, or DynamoDB
    health.py   the pipeline's own health per day: quarantined inputs and conflicts
    run.py      `run_alerts`: query the facts, load the state, evaluate (dmarc_model.alerts), save

The CLI (`dmarc alerts`) and the alerts Lambda call `run_alerts` with their own runner and state.
"""
