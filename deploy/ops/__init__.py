"""The operations CLI behind ./deploy.sh: install, run, watch and test the pipeline (click).

Layers, top down: `cli` (the commands and their help) → `local`, `compose`, `runs` (what each verb
does) → `logs`, `install`, `supervisor`, `services`, `settings` → `console` (output and failures).
It imports no Django and no app of the pipeline: it runs before any database exists. Its settings
come from `common.defaults`, the one table every process reads.
"""
