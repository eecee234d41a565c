"""`gate watch`: the declared probes over time, their history in a store, alerts, the daily report."""
