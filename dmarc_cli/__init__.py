"""The `dmarc` command: a thin layer over `dmarc_model` and `dmarc_store`."""
